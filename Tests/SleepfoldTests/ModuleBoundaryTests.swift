import Foundation
import Testing

/// The module graph of docs/architecture.md, checked against the sources: each
/// module imports only what the graph allows. SwiftPM would build a stray import
/// of a module that happens to be built first; this test does not let it.
@Suite struct ModuleBoundaryTests {
    /// Module → the project modules and packages it may import (system modules
    /// such as Foundation, Glibc, Dispatch and Synchronization are always allowed).
    static let allowed: [String: Set<String>] = [
        "Basics": [],
        "Recordings": ["Basics", "COpenSSL"],
        "Cohorts": ["Basics", "Recordings", "ZIPFoundation"],
        "EDF": ["Basics"],
        "Preparation": ["Basics", "Recordings", "Cohorts", "EDF"],
        "Synthesis": ["Basics", "Recordings", "Cohorts", "EDF", "Preparation"],
        "Evaluation": ["Basics"],
        "Reports": ["Basics", "Recordings", "Evaluation"],
        "Sgemm": [],
        "SgemmAVX512": ["Sgemm"],
        "SgemmAVX2": ["Sgemm"],
        "Elementwise": [],
        "ElementwiseAVX512": ["Elementwise"],
        "MatrixAMX": ["Basics", "CAMX"],
        "SleepNet": ["Basics", "Recordings", "Evaluation", "Sgemm", "SgemmAVX512", "SgemmAVX2", "Elementwise",
                     "ElementwiseAVX512", "MatrixAMX", "COpenBLAS"],
        "Staging": ["Basics", "Recordings", "Cohorts", "EDF", "Preparation", "Evaluation", "Reports", "SleepNet"],
        "Shared": ["Basics", "CZeroMQ", "SwiftProtobuf"],
        "Worker": ["Basics", "Recordings", "Cohorts", "Evaluation", "SleepNet", "Shared"],
        "Coordinator": ["Basics", "Recordings", "Cohorts", "Evaluation", "Reports", "Shared", "SwiftProtobuf", "CLinux"],
        "Studies": ["Basics", "Recordings", "Cohorts", "Evaluation", "Reports", "SleepNet", "Shared", "Coordinator"],
        "sleepfold": ["Basics", "Recordings", "Cohorts", "EDF", "Preparation", "Synthesis", "Evaluation",
                      "Reports", "SleepNet", "Staging", "Shared", "Worker", "Coordinator", "Studies", "ArgumentParser"],
    ]
    static let system: Set<String> = ["Foundation", "FoundationEssentials", "FoundationXML", "Glibc", "Darwin",
                                      "Dispatch", "Synchronization"]
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    /// `import X` lines of every Swift file under Sources/<module>, as (file, X).
    static func imports(of module: String) throws -> [(file: String, module: String)] {
        let root = sources.appendingPathComponent(module)
        let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        var found: [(String, String)] = []
        for file in files {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let i = words.firstIndex(of: "import"), i + 1 < words.count,
                      words[..<i].allSatisfy({ $0.hasPrefix("@") }) else { continue }
                found.append((file.lastPathComponent, String(words[i + 1])))
            }
        }
        return found
    }

    @Test func everyModuleInSourcesIsInTheGraph() throws {
        let modules = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path)
            .filter { !$0.hasPrefix(".") && !["CZeroMQ", "COpenBLAS", "COpenSSL", "CLinux", "CAMX"].contains($0) }
        #expect(Set(modules) == Set(Self.allowed.keys))
    }

    @Test(arguments: allowed.keys.sorted())
    func importsStayInsideTheGraph(module: String) throws {
        let allowed = try #require(Self.allowed[module]).union(Self.system)
        let imports = try Self.imports(of: module)
        #expect(!imports.isEmpty || ["Basics", "Sgemm", "Elementwise"].contains(module))   // the modules that import nothing
        for (file, imported) in imports where !allowed.contains(imported) {
            Issue.record("Sources/\(module)/…/\(file) imports \(imported), which docs/architecture.md does not allow")
        }
    }

    /// The model core reads no archives and talks to no network.
    @Test func sleepNetImportsNoNetworkAndNoArchives() throws {
        let imported = Set(try Self.imports(of: "SleepNet").map(\.module))
        #expect(imported.isDisjoint(with: ["Shared", "CZeroMQ", "SwiftProtobuf", "Cohorts", "ZIPFoundation"]))
    }
}
