import Foundation
import Coordinator

/// The files of a study directory:
///
///     OUT/study.html, study.md, study.json     the study report
///     OUT/<arm>/seed-<S>/                       an ordinary run directory per arm and seed
///     OUT/<arm>/seed-<S>-paper/                 the paper protocol's run (when asked)
///     OUT/logs/                                 coordinator and local worker logs
///     OUT/cache/                                local workers' cache
public struct StudyLayout: Sendable {
    public let directory: URL
    public init(_ directory: URL) { self.directory = directory }

    /// "ex1/seed-0", or "ex1/seed-0-paper": a run's directory relative to the study's.
    public static func runPath(arm: String, seed: UInt64, paper: Bool) -> String {
        "\(arm)/seed-\(seed)\(paper ? "-paper" : "")"
    }

    public func run(arm: String, seed: UInt64, paper: Bool) -> RunReporter.Layout {
        RunReporter.Layout(directory.appendingPathComponent(Self.runPath(arm: arm, seed: seed, paper: paper)))
    }

    public var studyJSON: URL { directory.appendingPathComponent("study.json") }
    public var studyMarkdown: URL { directory.appendingPathComponent("study.md") }
    public var studyHTML: URL { directory.appendingPathComponent("study.html") }
    public var logs: URL { directory.appendingPathComponent("logs") }
    public var cache: URL { directory.appendingPathComponent("cache") }
}
