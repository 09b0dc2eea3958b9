import Testing
import Basics

@Test func sameSeedGivesSameStreamAndDifferentSeedsDiffer() {
    var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
    let xa = (0..<16).map { _ in a.next() }
    let xb = (0..<16).map { _ in b.next() }
    let xc = (0..<16).map { _ in c.next() }
    #expect(xa == xb)
    #expect(xa != xc)
}

@Test func streamsOfOneSeedAreIndependent() {
    var s0 = SeededGenerator(seed: 7, stream: 0), s1 = SeededGenerator(seed: 7, stream: 1)
    #expect(s0.next() != s1.next())
}

@Test func unitFloatsAreInRangeAndRoughlyUniform() {
    var g = SeededGenerator(seed: 1)
    var sum = 0.0
    for _ in 0..<100_000 {
        let u = g.nextUnitFloat()
        #expect(u >= 0 && u < 1)
        sum += Double(u)
    }
    #expect(abs(sum / 100_000 - 0.5) < 0.01)
}

@Test func gaussianHasUnitVariance() {
    var g = SeededGenerator(seed: 3)
    let xs = (0..<100_000).map { _ in g.nextGaussian() }
    let mean = xs.reduce(0, +) / Double(xs.count)
    let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)
    #expect(abs(mean) < 0.02)
    #expect(abs(variance - 1) < 0.02)
}

@Test func seededShuffleIsAPermutationAndReproducible() {
    var g1 = SeededGenerator(seed: 9), g2 = SeededGenerator(seed: 9)
    var a = Array(0..<50), b = Array(0..<50)
    seededShuffle(&a, using: &g1)
    seededShuffle(&b, using: &g2)
    #expect(a == b)
    #expect(a.sorted() == Array(0..<50))
    #expect(a != Array(0..<50))
}

@Test func aSavedStateContinuesTheStreamExactly() throws {
    var g = SeededGenerator(seed: 11)
    for _ in 0..<5 { _ = g.next() }
    var resumed = try #require(SeededGenerator(state: g.state))
    #expect((0..<100).map { _ in g.next() } == (0..<100).map { _ in resumed.next() })
    #expect(SeededGenerator(state: [0, 0, 0, 0]) == nil)   // xoshiro's invalid state
    #expect(SeededGenerator(state: [1, 2, 3]) == nil)
}
