import Foundation
import Testing
import Basics
#if canImport(Glibc)
import Glibc
#endif

struct SleepfoldErrorTests {
    @Test func descriptionIsFileFieldMessageLeavingOutWhatIsUnknown() {
        let full = SleepfoldError(.invalidValue, file: "a.npz", field: "member 'y'", "label 7 is outside 0…4")
        #expect(full.description == "a.npz: member 'y': label 7 is outside 0…4")
        #expect(SleepfoldError(.invalidValue, file: "a.npz", "m").description == "a.npz: m")
        #expect(SleepfoldError(.invalidValue, field: "--epochs", "m").description == "--epochs: m")
        #expect(SleepfoldError(.invalidValue, file: "", field: "", "m").description == "m")
        let stated = SleepfoldError(.invalidValue, field: "--epochs", found: "0", expected: "a positive number")
        #expect(stated.message == "found 0, expected a positive number")
        #expect(stated.description == "--epochs: found 0, expected a positive number")
    }

    @Test func furtherProblemsFollowOnePerLine() {
        let problems = [SleepfoldError(.truncated, file: "b.npz", "short"),
                        SleepfoldError(.fileNotFound, file: "c.npz", "missing")]
        let error = SleepfoldError(.invalidValue, file: "/data", "found 2 problems", problems: problems)
        #expect(error.description == "/data: found 2 problems\n  - b.npz: short\n  - c.npz: missing")
    }

    @Test func locatedFillsOnlyWhatIsUnknown() throws {
        let bare = SleepfoldError(.truncated, "data ends early")
        #expect(bare.located(file: "x.npy").file == "x.npy")
        #expect(bare.located(file: "x.npy", field: "member 'x'").description == "x.npy: member 'x': data ends early")
        let placed = SleepfoldError(.truncated, file: "inner.npy", field: "header", "data ends early")
        #expect(placed.located(file: "outer.npz", field: "member 'x'") == placed)

        let error = try #require(throws: SleepfoldError.self) {
            try locating(file: "a.npz", field: "member 'fs'") { () throws -> Int in throw bare }
        }
        #expect(error.file == "a.npz" && error.field == "member 'fs'" && error.code == .truncated)
        // Other errors pass through unchanged.
        struct Other: Error {}
        #expect(throws: Other.self) { try locating(file: "a.npz") { () throws -> Int in throw Other() } }
        #expect(try locating(file: "a.npz") { 3 } == 3)
    }

    @Test func fileAccessTurnsFoundationErrorsIntoIOErrorsNamingTheFile() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("sleepfold-\(UUID().uuidString).json")
        let error = try #require(throws: SleepfoldError.self) {
            try fileAccess(missing.path, field: "header", cannot: "read the file") { try Data(contentsOf: missing) }
        }
        #expect(error.code == .fileNotFound && error.file == missing.path && error.field == "header")
        #expect(error.message.hasPrefix("cannot read the file: ") && error.message.count > "cannot read the file: ".count)
        // A SleepfoldError from inside keeps its code and message, and gets the file only if it had none.
        let inner = SleepfoldError(.truncated, field: "labels", "found 3 bytes, expected 8")
        let located = try #require(throws: SleepfoldError.self) {
            try fileAccess("a.epochs", cannot: "read") { () throws -> Int in throw inner }
        }
        #expect(located == inner.located(file: "a.epochs"))
        #expect(try fileAccess("a.epochs", cannot: "read") { 7 } == 7)
    }

    @Test func systemErrorsCarryErrnoAndItsText() {
        let error = SleepfoldError.system("open", file: "/no/such", errno: ENOENT)
        #expect(error.code == .io && error.errno == ENOENT)
        #expect(error.description == "/no/such: open failed: \(String(cString: strerror(ENOENT))) (errno \(ENOENT))")
    }

    @Test func codesAreSpelledAsTheirMemberNames() {
        #expect(SleepfoldError.Code.fileNotFound.rawValue == "fileNotFound")
        #expect(SleepfoldError.Code.io.rawValue == "io")
        #expect(SleepfoldError.Code.truncated.rawValue == "truncated")
        #expect(SleepfoldError.Code.badVersion.rawValue == "badVersion")
        #expect(SleepfoldError.Code.malformedHeader.rawValue == "malformedHeader")
        #expect(SleepfoldError.Code.invalidValue.rawValue == "invalidValue")
        #expect(SleepfoldError.Code.unsupportedCPU.rawValue == "unsupportedCPU")
    }

    /// Every code declared in Sources (`static let name = Self("raw")` in an extension of
    /// `SleepfoldError.Code`) is spelled as its member, and no name is declared twice:
    /// two modules declaring the same code would make `.name` ambiguous wherever both
    /// are imported.
    @Test func everyCodeInTheSourcesIsSpelledAsItsNameAndDeclaredOnce() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        let declaration = /static let (\w+) = Self\("([^"]*)"\)/
        // The pattern sees the old kebab-case spelling.
        let old = try #require("    public static let wrongFold = Self(\"wrong-fold\")".firstMatch(of: declaration))
        #expect(old.output.1 == "wrongFold" && old.output.2 == "wrong-fold")
        var places: [String: [String]] = [:]
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: declaration) {
                let (name, raw) = (String(match.output.1), String(match.output.2))
                #expect(raw == name, "\(file.lastPathComponent): code \(name) is spelled \"\(raw)\"")
                places[name, default: []].append(file.path.replacingOccurrences(of: sources.path + "/", with: ""))
            }
        }
        #expect(places.count >= 50, "found only \(places.count) codes under \(sources.path)")
        for (name, files) in places where files.count > 1 {
            Issue.record("code \(name) is declared \(files.count) times: \(files.joined(separator: ", "))")
        }
    }

    @Test func atomicWritesIntoAMissingDirectoryNameTheFileAndErrno() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("sleepfold-missing-\(UUID().uuidString)/report.json")
        let error = try #require(throws: SleepfoldError.self) { try AtomicFile.write(Data("{}".utf8), to: url) }
        #expect(error.code == .fileNotFound && error.errno == ENOENT && error.file == url.path)
        #expect(error.message.hasPrefix("cannot create a temporary file next to it: "), "\(error)")
    }
}
