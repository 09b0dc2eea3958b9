/// How well a study kept its workers busy: the makespan (first task sent to
/// last result journalled) against the LPT lower bound, the shortest makespan
/// any schedule of these tasks on these workers could have:
/// max(longest task, total task time / workers).
public struct Utilisation: Codable, Equatable, Sendable {
    public var makespanSeconds: Double
    public var lowerBoundSeconds: Double
    public var workers: Int
    /// Tasks the makespan covers (those trained in the session that finished the study).
    public var tasks: Int

    /// makespan / lower bound: 1 is a perfect schedule.
    public var ratio: Double { makespanSeconds / lowerBoundSeconds }

    /// Nil without a makespan, a task or a worker.
    public init?(makespanSeconds: Double?, taskSeconds: [Double], workers: Int) {
        guard let makespanSeconds, !taskSeconds.isEmpty, workers > 0 else { return nil }
        self.makespanSeconds = makespanSeconds
        self.lowerBoundSeconds = Self.lowerBound(taskSeconds: taskSeconds, workers: workers)
        self.workers = workers
        self.tasks = taskSeconds.count
    }

    /// max(longest task, total task time / workers).
    public static func lowerBound(taskSeconds: [Double], workers: Int) -> Double {
        max(taskSeconds.max() ?? 0, taskSeconds.reduce(0, +) / Double(max(1, workers)))
    }
}
