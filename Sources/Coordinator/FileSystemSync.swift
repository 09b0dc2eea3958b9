import Foundation
import Basics
import CLinux

/// `syncfs` of the file systems that hold some paths, each once: everything written to
/// them before the call is on disk when it returns. Cheaper for the coordinator than an
/// `fdatasync` per file when many were written: the kernel's flusher threads write the
/// pages, and the caller waits.
enum FileSystemSync {
    /// Syncs the file system of each of `paths` (missing ones are passed over: nothing
    /// written there). `open` is a descriptor already open on `paths[0]`'s file system.
    /// - Throws: `SleepfoldError` `.io` naming the path.
    static func sync(_ paths: [String], open descriptor: Int32? = nil) throws {
        var seen = Set<UInt64>()
        for (i, path) in paths.enumerated() where !path.isEmpty {
            var st = stat()
            guard stat(path, &st) == 0 else {
                if errno == ENOENT { continue }
                throw SleepfoldError.system("stat", file: path, errno: errno)
            }
            guard seen.insert(UInt64(st.st_dev)).inserted else { continue }
            let fd = i == 0 ? descriptor ?? Glibc.open(path, O_RDONLY | O_CLOEXEC) : Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SleepfoldError.system("open", file: path, errno: errno) }
            defer { if fd != descriptor { Glibc.close(fd) } }
            guard syncfs(fd) == 0 else { throw SleepfoldError.system("syncfs", file: path, errno: errno) }
        }
    }
}
