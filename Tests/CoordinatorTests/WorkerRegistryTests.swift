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

    /// The purge skips its scan until the earliest expiry it knows of; touches and later
    /// registrations never make it miss a worker's expiry.
    @Test func purgeFindsEachExpiryThoughItScansRarely() {
        var r = WorkerRegistry(heartbeatInterval: 1.0, liveness: 3)
        _ = r.register(routingID: [0x0A], hello: Sleepfold_Hello(), now: 0)     // expires at 3
        r.touch("0a", now: 2)                                                    // at 5
        _ = r.register(routingID: [0x0B], hello: Sleepfold_Hello(), now: 2.5)   // at 5.5
        #expect(r.purgeExpired(now: 4).isEmpty)
        #expect(r.purgeExpired(now: 5.2).map(\.address) == ["0a"])
        #expect(r.purgeExpired(now: 5.4).isEmpty)
        _ = r.register(routingID: [0x0C], hello: Sleepfold_Hello(), now: 5.4)   // at 8.4
        #expect(r.purgeExpired(now: 5.6).map(\.address) == ["0b"])
        r.touch("0c", now: 8)                                                    // at 11
        #expect(r.purgeExpired(now: 9).isEmpty)
        #expect(r.purgeExpired(now: 11.1).map(\.address) == ["0c"])
        #expect(r.workers.isEmpty)
    }
}
