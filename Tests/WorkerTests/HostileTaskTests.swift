import Foundation
import Testing
import Worker
import Basics
import Recordings
import Shared

/// A coordinator's task names files by `sha256`, `id` and `file_name`: a hostile one must
/// not make the worker read, write or delete anything outside its data and cache directories.
@Suite struct HostileTaskTests {
    @Test(arguments: [
        ("sha256", "../outside/victim"),
        ("sha256", String(repeating: "A", count: 64)),
        ("sha256", String(repeating: "a", count: 63)),
        ("sha256", String(repeating: "a", count: 63) + "/"),
        ("file_name", "../outside/secret.npz"),
        ("file_name", "/etc/passwd"),
        ("file_name", "sub/x.npz"),
        ("file_name", ".."),
        ("file_name", ""),
        ("id", "../../outside/evil"),
        ("id", "."),
    ])
    func badNamesAreRefusedNamingTheField(field: String, value: String) throws {
        var ref = Sleepfold_RecordingRef()
        ref.id = "SC4001E0"
        ref.sha256 = String(repeating: "0123456789abcdef", count: 4)
        ref.fileName = "SC4001E0.npz"
        var task = Sleepfold_FoldTask()
        task.fold = 3
        task.train = [ref]
        try task.validate()
        switch field {
        case "sha256": ref.sha256 = value
        case "file_name": ref.fileName = value
        default: ref.id = value
        }
        task.test = [ref]
        let error = try #require(throws: SleepfoldError.self) { try task.validate() }
        #expect(error.code == .invalidFoldTask && error.field == "test[0].\(field)", "\(error)")
    }

    /// Every regular file under `directory` with its contents' hash.
    static func snapshot(_ directory: URL) throws -> [String: String] {
        var files: [String: String] = [:]
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[url.path] = try SHA256.hexDigest(ofFile: url)
            }
        }
        return files
    }

    @Test func aHostileTaskIsRefusedWithoutReadingWritingOrDeletingOutsideItsDirectories() throws {
        let fold = try TinyFold()
        defer { fold.remove() }
        let sandbox = fold.directory
        let data = sandbox.appendingPathComponent("data"), cache = sandbox.appendingPathComponent("cache")
        let outside = sandbox.appendingPathComponent("outside")
        for d in [data, outside] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        for ref in fold.task.train + fold.task.validation + fold.task.test {
            try FileManager.default.copyItem(at: fold.files[ref.id]!, to: data.appendingPathComponent(ref.fileName))
        }
        // A secret the coordinator knows the hash of, and a victim it would have removed.
        let secretRef = fold.task.test[0]
        try FileManager.default.copyItem(at: fold.files[secretRef.id]!, to: outside.appendingPathComponent("secret.npz"))
        try Data("precious".utf8).write(to: outside.appendingPathComponent("victim.npz"))

        var readSecret = fold.task
        readSecret.test[0].fileName = "../outside/secret.npz"
        var deleteVictim = fold.task
        deleteVictim.test[0].sha256 = "../outside/victim"
        deleteVictim.test[0].fileName = "not-in-data.npz"
        var writeOutside = fold.task
        writeOutside.test[0].id = "../../outside/evil"
        writeOutside.test[0].fileName = "not-in-data.npz"
        // Each case against a worker of its own, so each is proved alone.
        for (task, field) in [(readSecret, "test[0].file_name"), (deleteVictim, "test[0].sha256"), (writeOutside, "test[0].id")] {
            let h = try WorkerRuntimeTests.Harness(cache: cache, data: data)
            let hello = try h.next()
            guard case .hello = hello.envelope.body else { Issue.record("expected hello"); return }
            try h.router.send(.welcome(runID: "run-test", heartbeatInterval: 1, liveness: 3), to: hello.id)
            let before = try Self.snapshot(sandbox)
            try h.router.send(.task(task), to: hello.id)
            let message = try h.next()
            if case .error(let report) = message.envelope.body {
                #expect(report.code == .malformedMessage && report.fold == 1)
                #expect(report.message.contains(field), "\(report.message)")
            } else {
                Issue.record("expected an error report for \(field), got \(message.envelope)")
            }
            // Nothing created, changed or removed anywhere (the cache is still empty).
            #expect(try Self.snapshot(sandbox) == before, "\(field)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).isEmpty, "\(field)")
            #expect(try h.stop(hello.id))
        }

        // An honest task is accepted from the data directory.
        let h = try WorkerRuntimeTests.Harness(cache: cache, data: data)
        let hello = try h.next()
        try h.router.send(.welcome(runID: "run-test", heartbeatInterval: 1, liveness: 3), to: hello.id)
        try h.router.send(.task(fold.task), to: hello.id)
        let next = try h.next(timeout: 60)
        if case .error(let report) = next.envelope.body { Issue.record("honest task refused: \(report.message)") }
        #expect(try h.stop(hello.id))
    }
}
