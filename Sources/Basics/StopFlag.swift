import Foundation

/// A stop request (SIGTERM, Ctrl-C) handed from a signal handler's thread to a
/// loop that polls it.
public final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    public init() {}

    public func set() { lock.lock(); requested = true; lock.unlock() }
    public var isSet: Bool { lock.lock(); defer { lock.unlock() }; return requested }
}
