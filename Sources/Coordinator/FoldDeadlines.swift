/// When a running fold is stuck: no new epoch for `multiple` × the run's median
/// epoch time (at least `floor`), or no first epoch within `firstEpochAllowance`
/// (which covers fetching the recordings and writing epoch files).
///
/// A pure value the loop drives: it says a fold started (or was adopted), that
/// it finished an epoch, or that it ended; it asks which folds are past their
/// deadline. Times are the loop's clock (s); epoch times are those the holders
/// report, bounded (a peer's number is not trusted as is; the floor keeps a
/// liar from shrinking the deadline of everyone else).
public struct FoldDeadlines: Sendable {
    public static let defaultMultiple = 10.0              // × the median epoch time
    public static let defaultFloor = 300.0                // s, shortest stall allowed
    public static let defaultFirstEpochAllowance = 3600.0 // s, from start to a fold's first epoch

    public let multiple: Double
    public let floor: Double          // s
    public let firstEpochAllowance: Double  // s

    /// Epoch times (s) reported in this run, sorted.
    public private(set) var epochTimes: [Double] = []
    /// Running fold → when it started or last finished an epoch, and whether it has finished one.
    private var running: [Int: (since: Double, hasEpoch: Bool)] = [:]

    public init(multiple: Double = defaultMultiple, floor: Double = defaultFloor,
                firstEpochAllowance: Double = defaultFirstEpochAllowance) {
        self.multiple = multiple
        self.floor = floor
        self.firstEpochAllowance = firstEpochAllowance
    }

    /// The median epoch time so far; nil before the run's first epoch.
    public var medianEpochTime: Double? {
        guard !epochTimes.isEmpty else { return nil }
        let n = epochTimes.count
        return n % 2 == 1 ? epochTimes[n / 2] : (epochTimes[n / 2 - 1] + epochTimes[n / 2]) / 2
    }

    /// Longest silence between two epochs of a fold (s): `multiple` × median, at least `floor`.
    public var stallLimit: Double { max(floor, multiple * (medianEpochTime ?? 0)) }

    /// A fold was handed out (or adopted) at `now`: its clock starts again.
    public mutating func started(fold: Int, now: Double) {
        running[fold] = (now, false)
    }

    /// The fold's holder finished an epoch that took `epochSeconds` (as it reports;
    /// a time that is not finite, not positive or above `firstEpochAllowance` is not counted).
    public mutating func progressed(fold: Int, epochSeconds: Double, now: Double) {
        guard running[fold] != nil else { return }
        running[fold] = (now, true)
        guard epochSeconds.isFinite, epochSeconds > 0, epochSeconds <= firstEpochAllowance else { return }
        let i = epochTimes.firstIndex { $0 > epochSeconds } ?? epochTimes.count
        epochTimes.insert(epochSeconds, at: i)
    }

    /// The fold is no longer running (done, queued again, given up).
    public mutating func ended(fold: Int) {
        running[fold] = nil
    }

    /// When `fold` is stuck unless it reports an epoch first; nil if it is not running.
    public func deadline(of fold: Int) -> Double? {
        guard let r = running[fold] else { return nil }
        return r.since + (r.hasEpoch ? stallLimit : max(firstEpochAllowance, stallLimit))
    }

    /// The running folds past their deadline at `now`, in fold order.
    public func expired(now: Double) -> [Int] {
        running.keys.filter { deadline(of: $0)! < now }.sorted()
    }
}
