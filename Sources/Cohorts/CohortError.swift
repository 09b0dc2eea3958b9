import Basics
import Recordings
/// Every problem found while reading a cohort, one per file (or manifest entry).
///
/// A cohort is checked completely before it is refused, so a user fixes all
/// files in one go instead of meeting them one run at a time.
public struct CohortError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The directory or manifest that was read.
    public var source: String
    /// The problems, in file order; each names its file.
    public var problems: [DataError]

    public init(source: String, problems: [DataError]) {
        self.source = source
        self.problems = problems
    }

    public var description: String {
        let heading = problems.count == 1 ? "1 problem in \(source):" : "\(problems.count) problems in \(source):"
        return ([heading] + problems.map { "  - \($0)" }).joined(separator: "\n")
    }
}
