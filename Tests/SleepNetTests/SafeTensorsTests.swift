import Foundation
import SleepNet
import Testing
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
        file.tensors["empty"] = SafeTensor(floats: [], shape: [0, 4])
        file.metadata = ["format": "x", "quote\"d": "line\nbreak"]
        let data = file.serialized()
        // 8-byte LE header length, header padded to 8 bytes, data after it.
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
        #expect(data.count == 8 + headerLength + 6 * 4 + 8)
        let read = try SafeTensorsFile(data: data)
        #expect(read == file)
        #expect(read.tensors["b.num_batches_tracked"]?.int64s == [Int64.max - 3])
    }

    @Test func malformedFilesAreRejectedWithAReason() throws {
        var file = SafeTensorsFile()
        file.tensors["w"] = SafeTensor(floats: [1, 2, 3, 4], shape: [4])
        let good = file.serialized()
        // Truncated data, cut header, bad header length, bad dtype, wrong byte count.
        var cases: [Data] = [good.prefix(good.count - 4), good.prefix(5), Data([255, 255, 255, 255, 0, 0, 0, 0]) + good.dropFirst(8)]
        let header = String(decoding: good.dropFirst(8).prefix(good.count - 8 - 16), as: UTF8.self)
        for (from, to) in [("F32", "F16"), ("[4]", "[5]"), ("\"shape\"", "\"shapes\"")] {
            var h = Data(header.replacingOccurrences(of: from, with: to).utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            var d = Data()
            var n = UInt64(h.count).littleEndian
            withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
            cases.append(d + h + good.suffix(16))
        }
        for bad in cases {
            #expect(throws: SleepNetError.self) { try SafeTensorsFile(data: bad, source: "bad.safetensors") }
        }
        do { _ = try SafeTensorsFile(data: cases[0], source: "bad.safetensors") } catch let e as SleepNetError {
            #expect(e.description.contains("bad.safetensors") && e.description.contains("'w'"))
        }
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
        #expect(throws: SleepNetError.self) { try SleepModel.loadCheckpoint(from: url) }
    }
}
