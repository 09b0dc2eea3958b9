import Testing
import Coordinator
import Shared

@Suite struct WorkerRegistryTests {
    @Test func silentWorkersExpireAfterLivenessIntervals() {
        var r = WorkerRegistry(heartbeatInterval: 1.0, liveness: 3)
        var hello = Sleepfold_Hello()
        hello.workerID = "n1"
        let a = r.register(routingID: [0xAB, 0x01], hello: hello, now: 100)
        #expect(a.address == "ab01")
        _ = r.register(routingID: [0x02], hello: hello, now: 100)
        let touched = r.touch("ab01", now: 102.5)
        #expect(touched)
        let dead1 = r.purgeExpired(now: 103.5).map(\.address)
        #expect(dead1 == ["02"])
        let dead2 = r.purgeExpired(now: 105.4)
        #expect(dead2.isEmpty)
        let dead3 = r.purgeExpired(now: 105.6).map(\.address)
        #expect(dead3 == ["ab01"])
        #expect(r.workers.isEmpty)
        let touchedAfterDeath = r.touch("ab01", now: 106)
        #expect(!touchedAfterDeath)
    }

    @Test func aBusyOrBackingOffWorkerTakesNoTask() {
        var r = WorkerRegistry(heartbeatInterval: 1.0, liveness: 3)
        _ = r.register(routingID: [0x01], hello: Sleepfold_Hello(), now: 0)
        #expect(r.mayTakeTask("01", now: 0))
        #expect(!r.mayTakeTask("02", now: 0))          // unknown
        r.setBusy("01", with: 4)                         // its heartbeat: training fold 4
        #expect(!r.mayTakeTask("01", now: 1))
        r.setBusy("01", with: nil)
        #expect(r.mayTakeTask("01", now: 1))
        r.backOff("01", until: 11)                       // it refused a task at 1
        #expect(!r.mayTakeTask("01", now: 10.9))
        #expect(r.mayTakeTask("01", now: 11))
    }
}
