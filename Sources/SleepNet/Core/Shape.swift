import Basics
/// The shape of a tensor: up to four dimensions, batch first, stored inline so
/// that setting a shape in the step loop never allocates.
public struct Shape: Equatable, Sendable, CustomStringConvertible {
    /// Number of dimensions (1…4).
    public let rank: Int
    private let d0, d1, d2, d3: Int

    public init(_ d0: Int) { rank = 1; self.d0 = d0; d1 = 1; d2 = 1; d3 = 1 }
    public init(_ d0: Int, _ d1: Int) { rank = 2; self.d0 = d0; self.d1 = d1; d2 = 1; d3 = 1 }
    public init(_ d0: Int, _ d1: Int, _ d2: Int) { rank = 3; self.d0 = d0; self.d1 = d1; self.d2 = d2; d3 = 1 }
    public init(_ d0: Int, _ d1: Int, _ d2: Int, _ d3: Int) {
        rank = 4; self.d0 = d0; self.d1 = d1; self.d2 = d2; self.d3 = d3
    }

    /// A shape from an array of one to four dimensions; nil for other ranks.
    public init?(_ dims: [Int]) {
        switch dims.count {
        case 1: self.init(dims[0])
        case 2: self.init(dims[0], dims[1])
        case 3: self.init(dims[0], dims[1], dims[2])
        case 4: self.init(dims[0], dims[1], dims[2], dims[3])
        default: return nil
        }
    }

    /// Size of dimension `i` (0-based); 1 past the rank.
    public subscript(i: Int) -> Int {
        switch i {
        case 0: return d0
        case 1: return d1
        case 2: return d2
        default: return d3
        }
    }

    /// Number of elements.
    public var count: Int { d0 * d1 * d2 * d3 }

    /// The dimensions as an array (allocates: not for hot loops).
    public var dims: [Int] { (0..<rank).map { self[$0] } }

    public var description: String { "(" + dims.map(String.init).joined(separator: ", ") + ")" }
}
