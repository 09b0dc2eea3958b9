import Foundation
import SleepNet
import Testing
import TestSupport
import Basics
import Recordings
import Evaluation

@Suite struct SafeTensorsTests {
    static func tempURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sleepnet-\(UUID())-\(name)")
    }

    @Test func writeThenReadGivesTheSameTensors() throws {
        var file = SafeTensorsFile()
        file.tensors["a.weight"] = SafeTensor(floats: [1.5, -2, 3.25, .greatestFiniteMagnitude, -0.0, 1e-30], shape: [2, 3])
        file.tensors["b.num_batches_tracked"] = SafeTensor(int64s: [Int64.max - 3], shape: [])
        file.tensors["c.labels"] = SafeTensor(int32s: [Int32.min, -1, 0, 4, Int32.max], shape: [5])
        file.tensors["empty"] = SafeTensor(floats: [], shape: [0, 4])
        file.metadata = ["format": "x", "quote\"d": "line\nbreak"]
        let data = file.serialized()
        // 8-byte LE header length, header padded to 8 bytes, data after it.
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
        #expect(data.count == 8 + headerLength + 6 * 4 + 8 + 5 * 4)
        let read = try SafeTensorsFile(data: data)
        #expect(read == file)
        #expect(read.tensors["b.num_batches_tracked"]?.int64s == [Int64.max - 3])
        #expect(read.tensors["c.labels"]?.dtype == .i32)
        #expect(read.tensors["c.labels"]?.int64s == [Int64(Int32.min), -1, 0, 4, Int64(Int32.max)])
    }

    @Test func malformedFilesAreRejectedWithAReason() throws {
        var file = SafeTensorsFile()
        file.tensors["w"] = SafeTensor(floats: [1, 2, 3, 4], shape: [4])
        let good = file.serialized()
        // Truncated data, cut header, bad header length, bad dtype, wrong byte count.
        var cases: [Data] = [good.prefix(good.count - 4), good.prefix(5), Data([255, 255, 255, 255, 0, 0, 0, 0]) + good.dropFirst(8)]
        let header = String(decoding: good.dropFirst(8).prefix(good.count - 8 - 16), as: UTF8.self)
        // Last two: sizes whose element count (2⁶²·4) or byte count ((2⁶¹ + 1)·4) overflows Int.
        for (from, to) in [("F32", "F16"), ("[4]", "[5]"), ("\"shape\"", "\"shapes\""),
                           ("[4]", "[4611686018427387904,4]"), ("[4]", "[2305843009213693953]")] {
            var h = Data(header.replacingOccurrences(of: from, with: to).utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            var d = Data()
            var n = UInt64(h.count).littleEndian
            withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
            cases.append(d + h + good.suffix(16))
        }
        let fields: [String?] = [
            "tensor 'w'",      // its data ends early
            nil,               // 5 bytes: no header length
            "header length",
            "tensor 'w'",      // dtype F16
            "tensor 'w'",      // 5 elements in 16 bytes
            "tensor 'w'",      // no shape
            "tensor 'w'",      // 2⁶⁴ elements
            "tensor 'w'",      // 2⁶³ + 4 bytes
        ]
        for (bad, field) in zip(cases, fields) {
            let e = expectError(.invalidFile, file: "bad.safetensors") { _ = try SafeTensorsFile(data: bad, source: "bad.safetensors") }
            #expect(e?.field == field, "\(e.map(String.init(describing:)) ?? "")")
        }
        let dtype = expectError(.invalidFile) { _ = try SafeTensorsFile(data: cases[3], source: "bad.safetensors") }
        #expect(dtype?.description == "bad.safetensors: tensor 'w': found dtype F16, expected F32, I32 or I64")
        let huge = expectError(.invalidFile) { _ = try SafeTensorsFile(data: cases[7], source: "bad.safetensors") }
        #expect(huge?.message.contains("fewer than 2⁶³ bytes") == true, "\(huge.map(String.init(describing:)) ?? "")")
        let missing = expectError(.missingTensor, file: "good.safetensors", field: "tensor 'v'") {
            _ = try SafeTensorsFile(data: good, source: "good.safetensors").tensor("v", source: "good.safetensors")
        }
        #expect(missing?.message.contains("missing") == true)
        let nowhere = Self.tempURL("nowhere/absent.safetensors")
        expectError(.fileNotFound, file: nowhere.path) { _ = try SafeTensorsFile(contentsOf: nowhere) }
        expectError(.fileNotFound, file: nowhere.path) { try file.write(to: nowhere) }
    }

    /// A checkpoint carries the config and PyTorch names; loading it gives the same network.
    @Test func checkpointRoundTripGivesTheSameModel() throws {
        let model = try SleepModel(config: ModelConfig(), seed: 11)
        let x = SleepModelTests.batch(2, seed: 4)
        _ = try model.forward(x, batch: 2, training: true)   // move the running stats off their defaults
        let expected = try model.forward(x, batch: 2, training: false).array
        let url = Self.tempURL("model.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try model.saveCheckpoint(to: url, extraMetadata: ["fold": "3"])
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.metadata["format"] == CheckpointFormat.magic && file.metadata["fold"] == "3")
        #expect(file.tensors["mrcnn.features1.0.weight"]?.shape == [64, 1, 50])
        #expect(file.tensors["mrcnn.features1.1.num_batches_tracked"]?.int64s == [1])
        let loaded = try SleepModel.loadCheckpoint(from: url)
        #expect(loaded.config == model.config)
        #expect(try loaded.forward(x, batch: 2, training: false).array == expected)
    }

    @Test func checkpointWithoutTheFormatIsRejected() throws {
        let url = Self.tempURL("plain.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SleepModel(seed: 1).stateDict().write(to: url)
        let e = expectError(.invalidFile, file: url.path, field: "__metadata__.format") { _ = try SleepModel.loadCheckpoint(from: url) }
        #expect(e?.message == "found nothing, expected \(CheckpointFormat.magic)")
        // A checkpoint whose config does not fit together names the config's field in the file.
        let model = try SleepModel(seed: 1)
        try model.saveCheckpoint(to: url)
        var file = try SafeTensorsFile(contentsOf: url)
        file.metadata["model_config"] = file.metadata["model_config"]!.replacingOccurrences(of: "\"dModel\":80", with: "\"dModel\":81")
        try file.write(to: url)
        expectError(.invalidConfig, file: url.path, field: "__metadata__.model_config.dModel") {
            _ = try SleepModel.loadCheckpoint(from: url)
        }
        // A tensor of another shape is named with both shapes.
        file = try SafeTensorsFile(contentsOf: url)
        file.metadata["model_config"] = file.metadata["model_config"]!.replacingOccurrences(of: "\"dModel\":81", with: "\"dModel\":80")
        file.tensors["fc.bias"] = SafeTensor(floats: [0, 0, 0], shape: [3])
        try file.write(to: url)
        let shape = expectError(.shapeMismatch, file: url.path, field: "tensor 'fc.bias'") { _ = try SleepModel.loadCheckpoint(from: url) }
        #expect(shape?.message == "found shape [3], expected [5]")
    }
}
