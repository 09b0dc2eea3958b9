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
}
