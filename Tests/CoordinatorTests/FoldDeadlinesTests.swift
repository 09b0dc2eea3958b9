import Testing
import Coordinator

@Suite struct FoldDeadlinesTests {
    @Test func aFoldWithoutAnEpochGetsTheFirstEpochAllowance() {
        var d = FoldDeadlines(multiple: 10, floor: 300, firstEpochAllowance: 3600)
        d.started(fold: 2, now: 100)
        #expect(d.deadline(of: 2) == 3700)
        #expect(d.expired(now: 3700).isEmpty)
        #expect(d.expired(now: 3700.5) == [2])
        #expect(d.deadline(of: 3) == nil)
    }

    @Test func aStallIsTenMedianEpochsAtLeastTheFloor() {
        var d = FoldDeadlines(multiple: 10, floor: 300, firstEpochAllowance: 3600)
        d.started(fold: 0, now: 0)
        d.started(fold: 1, now: 0)
        d.progressed(fold: 0, epochSeconds: 10, now: 50)     // short epochs: the floor rules
        #expect(d.medianEpochTime == 10 && d.stallLimit == 300)
        #expect(d.deadline(of: 0) == 350)
        for (t, s) in [(100.0, 60.0), (200, 60), (300, 70)] { d.progressed(fold: 0, epochSeconds: s, now: t) }
        #expect(d.medianEpochTime == 60 && d.stallLimit == 600)
        #expect(d.deadline(of: 0) == 900)
        // Fold 1 has no epoch yet: the allowance, or the stall limit if longer.
        #expect(d.deadline(of: 1) == 3600)
        #expect(d.expired(now: 900.5) == [0])
        d.ended(fold: 0)
        #expect(d.expired(now: 3600.5) == [1])
        // Started again (queued and handed out): a fresh clock.
        d.started(fold: 1, now: 4000)
        #expect(d.expired(now: 4001).isEmpty)
    }

    @Test func epochTimesAPeerCouldLieWithAreNotCounted() {
        var d = FoldDeadlines(multiple: 10, floor: 300, firstEpochAllowance: 3600)
        d.started(fold: 0, now: 0)
        for s in [Double.nan, .infinity, -5, 0, 1e9] { d.progressed(fold: 0, epochSeconds: s, now: 1) }
        #expect(d.epochTimes.isEmpty && d.stallLimit == 300)
        // Progress still moves the clock; a fold not running is ignored.
        #expect(d.deadline(of: 0) == 301)
        d.progressed(fold: 9, epochSeconds: 5, now: 2)
        #expect(d.epochTimes.isEmpty && d.deadline(of: 9) == nil)
    }

    @Test func theMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        var d = FoldDeadlines(multiple: 2, floor: 0, firstEpochAllowance: 100)
        d.started(fold: 0, now: 0)
        for s in [40.0, 10, 30, 20] { d.progressed(fold: 0, epochSeconds: s, now: 0) }
        #expect(d.epochTimes == [10, 20, 30, 40] && d.medianEpochTime == 25 && d.stallLimit == 50)
    }
}
