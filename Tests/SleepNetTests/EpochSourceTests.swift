import Foundation
import SleepNet
import Testing
import Basics
import Recordings
import Cohorts
import Evaluation

/// Training from epoch files (read batch by batch) against training from memory.
@Suite struct EpochSourceTests {
    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("epoch-source-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Same seed, same data: the file-backed run gives the in-memory run's predictions, bit for bit.
    @Test(arguments: [NPZCompression.stored, .deflated])
    func trainingFromEpochFilesIsBitIdenticalToMemory(compression: NPZCompression) throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let nights = TrainerTests.tiny
        var files: [EpochFile] = []
        for night in nights[0..<2] {
            let npz = dir.appendingPathComponent("\(night.id).npz")
            try night.write(to: npz, compression: compression)
            let file = try EpochFile.convert(npz: npz, to: dir.appendingPathComponent("\(night.id).epochs"))
            #expect(file.labels == night.labels && file.samplesPerEpoch == 3000 && file.sampleRate == 100)
            #expect(try file.recording(id: night.id, subject: night.subject, night: night.night).x == night.x)
            files.append(try EpochFile(url: file.url))
        }
        let trainer = Trainer(config: smallExperiment(epochs: 2, batch: 16), selection: .validation, seed: 7)
        let memory = try trainer.run(train: [nights[0], nights[1]], validation: [nights[2]], test: [nights[2]])
        let streamed = try trainer.run(train: try EpochFileSource(files), validation: [LazyRecording(nights[2])],
                                       test: [LazyRecording(id: nights[2].id) { nights[2] }])
        #expect(streamed.predictions == memory.predictions)
        #expect(streamed.history.map(\.trainLoss) == memory.history.map(\.trainLoss))
        #expect(streamed.chosenEpoch == memory.chosenEpoch)
    }

    @Test func damagedEpochFilesAreNamedNotCrashed() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let night = TrainerTests.tiny[0]
        let npz = dir.appendingPathComponent("a.npz")
        try night.write(to: npz)
        let url = dir.appendingPathComponent("a.epochs")
        try EpochFile.convert(npz: npz, to: url)
        var bytes = try Data(contentsOf: url)
        let truncated = dir.appendingPathComponent("t.epochs")
        try bytes.prefix(bytes.count - 100).write(to: truncated)
        #expect(try #require(throws: SleepfoldError.self) { try EpochFile(url: truncated) }.code == .truncated)
        bytes[0] = UInt8(ascii: "X")
        let foreign = dir.appendingPathComponent("f.epochs")
        try bytes.write(to: foreign)
        do {
            _ = try EpochFile(url: foreign)
            Issue.record("expected an error")
        } catch let error as SleepfoldError {
            #expect(error.code == .badMagic && error.file == foreign.path && "\(error)".contains("f.epochs"))
        }
        // Files of a recording with NaN are refused at conversion, naming the epoch.
        var bad = night.x
        bad[3000 * 2 + 5] = .nan
        let nan = dir.appendingPathComponent("nan.npz")
        try NPZArchive.write([("x", NPYArray(bad, shape: [night.epochCount, 3000])), ("y", NPYArray(night.labels)),
                                       ("fs", NPYArray(scalar: Int64(100)))], to: nan)
        #expect(try #require(throws: SleepfoldError.self) { try EpochFile.convert(npz: nan, to: dir.appendingPathComponent("nan.epochs")) }.code == .nonFiniteSignal)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("nan.epochs").path))
    }

    /// Thousands of nights: at most `maxOpenFiles` descriptors at once.
    @Test func openFilesStayBounded() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let night = Recording(id: "n", subject: "s", night: nil, sampleRate: 100, samplesPerEpoch: 3000,
                              x: (0..<6000).map { Float($0 % 97) }, labels: [1, 2])
        let npz = dir.appendingPathComponent("n.npz")
        try night.write(to: npz)
        let template = try EpochFile.convert(npz: npz, to: dir.appendingPathComponent("n.epochs"))
        let files = try (0..<(EpochFileSource.maxOpenFiles * 3)).map { _ in try EpochFile(url: template.url) }
        let source = try EpochFileSource(files)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 3000)
        defer { buffer.deallocate() }
        for r in 0..<files.count {
            try source.copyEpoch(recording: r, epoch: 1, to: buffer)
            #expect(buffer[0] == Float(3000 % 97))
        }
        #expect(files.filter(\.isOpen).count == EpochFileSource.maxOpenFiles)
    }
}
