import Foundation
import Testing
import Basics
import Recordings
import TestSupport

/// Absurd model sizes in a config file (`train`) or a checkpoint's metadata
/// (`predict`) end the command within seconds with one line naming the field:
/// nothing of the absurd size is allocated.
@Suite struct ConfigBoundsCommandTests {
    /// Bytes: the most either command may hold at its peak before refusing (measured
    /// from outside, VmHWM); the sizes asked for are gigabytes to exabytes.
    static let peakBound = 128 << 20
    /// (JSON of the model's absurd fields, the field the error must name).
    static let absurd: [(model: String, field: String)] = [
        (#"{"branch1": {"kernel": 50, "stride": 6, "padding": 9223372036854775807, "firstPool": {"kernel": 8, "stride": 2, "padding": 4}, "convKernel": 8, "convPadding": 4, "lastPool": {"kernel": 4, "stride": 4, "padding": 2}}}"#,
         "branch1.padding"),
        (#"{"dFF": 1000000000}"#, "dFF"),
        (#"{"cnnChannels": 1099511627776}"#, "cnnChannels"),
    ]

    /// A safetensors file with no tensors and a checkpoint's metadata around `modelConfig`.
    static func checkpoint(modelConfig: String) throws -> Data {
        let metadata = ["format": "sleepfold-checkpoint", "format_version": "1", "model_config": modelConfig]
        let header = try JSONSerialization.data(withJSONObject: ["__metadata__": metadata])
        var length = UInt64(header.count).littleEndian
        return Data(bytes: &length, count: 8) + header
    }

    @Test func predictRefusesAbsurdSizesInTheCheckpointMetadata() throws {
        let root = try CommandRunner.temporaryDirectory("bounds-predict")
        defer { try? FileManager.default.removeItem(at: root) }
        let night = root.appendingPathComponent("SC4001E0.npz")
        try Recording(id: "SC4001E0", subject: "00", night: 1, sampleRate: 100, samplesPerEpoch: 3000,
                      x: [Float](repeating: 0, count: 3000), labels: [0]).write(to: night)
        for (model, field) in Self.absurd {
            let url = root.appendingPathComponent("absurd.safetensors")
            try Self.checkpoint(modelConfig: model).write(to: url)
            let start = Date()
            let result = try CommandRunner.runMeasuringMemory(["predict", "--checkpoint", url.path, "--data", night.path], timeout: 60)
            #expect(result.status != 0)
            #expect(Date().timeIntervalSince(start) < 20, "\(field): took \(Date().timeIntervalSince(start)) s")
            #expect(result.stderr.contains("absurd.safetensors") && result.stderr.contains("__metadata__.model_config.\(field)"),
                    "\(result.stderr)")
            #expect(result.stderr.contains("expected"), "\(result.stderr)")
            Self.expectBoundedMemory(result, "predict, \(field)")
        }
    }

    @Test func trainRefusesAbsurdSizesInTheConfig() throws {
        let tiny = try TinyRun("bounds-train")
        defer { tiny.remove() }
        let configs = Self.absurd.map { ("{\"model\": \($0.model)}", "model." + $0.field) }
            + [(#"{"training": {"batchSize": 1000000000}}"#, "training.batchSize")]
        for (json, field) in configs {
            try Data(json.utf8).write(to: tiny.config)
            let start = Date()
            let result = try CommandRunner.runMeasuringMemory(tiny.trainArguments(fold: 0), timeout: 60)
            #expect(result.status != 0)
            #expect(Date().timeIntervalSince(start) < 20, "\(field): took \(Date().timeIntervalSince(start)) s")
            #expect(result.stderr.contains("tiny.json") && result.stderr.contains(field), "\(result.stderr)")
            Self.expectBoundedMemory(result, "train, \(field)")
        }
    }

    static func expectBoundedMemory(_ result: CommandRunner.Output, _ what: String,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
        let peak = result.peakResidentBytes ?? 0
        print("\(what): peak RSS \(peak >> 20) MiB")
        #expect(peak > 0 && peak < peakBound, "\(what): peak RSS \(peak >> 20) MiB, bound \(peakBound >> 20) MiB",
                sourceLocation: sourceLocation)
    }
}
