/// A sleep stage, with the label values of the AttnSleep data format.
public enum Stage: Int32, CaseIterable, Sendable, Codable {
    case wake = 0
    case n1 = 1
    case n2 = 2
    case n3 = 3
    case rem = 4

    /// Number of classes a classifier predicts.
    public static let count = 5

    /// Short name used in tables and reports: W, N1, N2, N3, REM.
    public var name: String {
        switch self {
        case .wake: return "W"
        case .n1: return "N1"
        case .n2: return "N2"
        case .n3: return "N3"
        case .rem: return "REM"
        }
    }
}
