import Testing
import Worker
import Shared

/// The results a worker holds until acknowledged (protocol 4): order, bound, settling.
@Suite struct UnacknowledgedResultsTests {
    func result(_ fold: UInt32, run: String = "R", attempt: UInt32 = 1) -> Sleepfold_FoldResult {
        .with { $0.runID = run; $0.fold = fold; $0.attempt = attempt }
    }

    @Test(arguments: [1, 2, 4])
    func heldInTheOrderSentUpToTheLimit(limit: Int) {
        var held = UnacknowledgedResults(limit: limit)
        #expect(held.isEmpty && !held.isFull)
        for f in 0..<limit {
            #expect(!held.isFull)
            held.add(result(UInt32(f)))
        }
        #expect(held.isFull)
        #expect(held.results.map(\.fold) == (0..<limit).map(UInt32.init))
        // Settling the oldest makes room; the others keep their order.
        let removed = held.remove(run: "R", fold: 0)
        #expect(removed)
        #expect(!held.isFull)
        held.add(result(UInt32(limit)))
        #expect(held.results.map(\.fold) == (1...limit).map(UInt32.init))
    }

    @Test func aResultIsFoundAndSettledByRunAndFold() {
        var held = UnacknowledgedResults(limit: 4)
        held.add(result(3, run: "A"))
        held.add(result(3, run: "B"))
        held.add(result(5, run: "A"))
        #expect(held.result(run: "B", fold: 3) == result(3, run: "B"))
        #expect(held.result(run: "B", fold: 5) == nil)
        let nothingHeld = held.remove(run: "C", fold: 3)   // an acknowledgement of nothing held
        let first = held.remove(run: "A", fold: 3)
        let second = held.remove(run: "A", fold: 3)        // a second acknowledgement
        #expect(!nothingHeld && first && !second)
        #expect(held.results.map { "\($0.runID)\($0.fold)" } == ["B3", "A5"])
    }

    @Test func aSecondResultOfTheSameFoldTakesTheFirstOnesPlace() {
        var held = UnacknowledgedResults(limit: 2)
        held.add(result(1))
        held.add(result(2))
        held.add(result(1, attempt: 2))                     // full, but no new place needed
        #expect(held.results == [result(1, attempt: 2), result(2)])
    }

    @Test func theLimitIsTheProtocols() {
        #expect(UnacknowledgedResults().limit == Wire.maxUnacknowledgedResults)
        #expect(Wire.maxUnacknowledgedResults >= 2)   // one being synced while the next fold's result comes
    }
}
