import Testing
import Coordinator
import Shared
import Basics

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

    /// Heartbeats only to workers we sent nothing for an interval (the Guide's rule).
    @Test func heartbeatsGoOnlyToWorkersThatHeardNothingForAnInterval() {
        var r = WorkerRegistry(heartbeatInterval: 1.0, liveness: 3)
        _ = r.register(routingID: [0x01], hello: Sleepfold_Hello(), now: 0)     // welcomed at 0
        _ = r.register(routingID: [0x02], hello: Sleepfold_Hello(), now: 0.5)   // at 0.5
        #expect(r.heartbeatsDue(now: 0.9).isEmpty)
        #expect(r.heartbeatsDue(now: 1).map(\.address) == ["01"])
        r.noteSent("01", now: 1)                                                 // its heartbeat
        r.noteSent("02", now: 1.2)                                               // a task
        #expect(r.heartbeatsDue(now: 2).map(\.address) == ["01"])
        #expect(r.heartbeatsDue(now: 2.2).map(\.address).sorted() == ["01", "02"])
        r.noteSent("03", now: 2)                                                 // unknown: nothing happens
        #expect(r.workers.count == 2)
    }

    /// Driven as the coordinator drives it (a heartbeat turn every interval, other messages
    /// at random times), no worker goes two intervals without a message: within its liveness.
    @Test(arguments: [1, 2, 3])
    func withHeartbeatsSuppressedAWorkerStillHearsFromUsEveryTwoIntervals(seed: UInt64) {
        var r = WorkerRegistry(heartbeatInterval: 1.0, liveness: 3)
        var generator = SeededGenerator(seed: seed)
        let addresses = (0..<20).map { r.register(routingID: [UInt8($0)], hello: Sleepfold_Hello(), now: 0).address }
        var lastHeard = Dictionary(uniqueKeysWithValues: addresses.map { ($0, 0.0) })
        var longestSilence = 0.0
        var t = 0.0, nextTurn = 1.0
        while t < 200 {
            t += Double.random(in: 0..<1, using: &generator) * 0.3
            if t >= nextTurn {
                // The turn runs a little late, as a busy loop's would.
                let turn = t
                nextTurn = turn + 1
                for w in r.heartbeatsDue(now: turn) {
                    longestSilence = max(longestSilence, turn - lastHeard[w.address]!)
                    r.noteSent(w.address, now: turn)
                    lastHeard[w.address] = turn
                }
            }
            if Double.random(in: 0..<1, using: &generator) < 0.3 {   // a task, an acknowledgement
                let a = addresses[Int(Double.random(in: 0..<1, using: &generator) * Double(addresses.count))]
                longestSilence = max(longestSilence, t - lastHeard[a]!)
                r.noteSent(a, now: t)
                lastHeard[a] = t
            }
        }
        for a in addresses { longestSilence = max(longestSilence, t - lastHeard[a]!) }
        #expect(longestSilence > 1)            // some heartbeats were left out
        #expect(longestSilence < 2 + 0.3)      // two intervals, and the last turn's lateness
    }
}
