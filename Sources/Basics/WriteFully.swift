#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes all of `bytes` to `fd`: at byte `offset` with pwrite, or at the file
/// position with write when `offset` is nil. An interrupted call (EINTR) is
/// retried and a short write continues where it stopped. Returns 0, or the errno
/// of the call that failed (callers name the file and the step in their error).
public func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int? = nil) -> Int32 {
    guard let base = bytes.baseAddress else { return 0 }
    var done = 0
    while done < bytes.count {
        let n = offset.map { pwrite(fd, base + done, bytes.count - done, off_t($0 + done)) }
            ?? write(fd, base + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        done += n
    }
    return 0
}
