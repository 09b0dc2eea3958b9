import Foundation
import Basics

extension SleepModel {
    /// One training step on a batch: training forward, weighted cross-entropy,
    /// zeroed gradients, backward, one optimiser step. Returns the batch loss.
    ///
    /// `x` holds `labels.count` epochs of `config.inputSamples` values;
    /// `classWeights` has `config.classes` entries.
    public func trainStep(_ x: UnsafeBufferPointer<Float>, labels: UnsafeBufferPointer<Int32>,
                          classWeights: [Float], loss: WeightedCrossEntropy, optimizer: Adam) throws -> Float {
        let logits = try forward(x, batch: labels.count, training: true)
        Profiler.setPass(.loss)
        // The loss's forward also computes its logits gradient.
        let value = try Profiler.measure("loss") {
            try loss.forward(logits: logits, labels: labels, classWeights: classWeights)
        }
        Profiler.setPass(.backward)
        Profiler.measure("gradients.zero") { zeroGradients() }
        try backward(loss.logitsGradient)
        Profiler.setPass(.optimizer)
        Profiler.measure("adam") { optimizer.step() }
        return value
    }

    /// `trainStep` over arrays.
    public func trainStep(_ x: [Float], labels: [Int32], classWeights: [Float],
                          loss: WeightedCrossEntropy, optimizer: Adam) throws -> Float {
        try x.withUnsafeBufferPointer { xs in
            try labels.withUnsafeBufferPointer { ls in
                try trainStep(xs, labels: ls, classWeights: classWeights, loss: loss, optimizer: optimizer)
            }
        }
    }

    /// Class probabilities (softmax of the evaluation logits), row-major
    /// (batch, classes), and the most probable class of each epoch.
    public func predict(_ x: UnsafeBufferPointer<Float>, batch: Int) throws
        -> (labels: [Int32], probabilities: [Float]) {
        let logits = try forward(x, batch: batch, training: false)
        let K = config.classes
        var probabilities = [Float](repeating: 0, count: batch * K)
        var labels = [Int32](repeating: 0, count: batch)
        for i in 0..<batch {
            let row = logits.data + i * K
            var m = -Float.infinity, best = 0
            for j in 0..<K where row[j] > m { m = row[j]; best = j }
            var s = 0.0
            for j in 0..<K { s += Double(exp(row[j] - m)) }
            for j in 0..<K { probabilities[i * K + j] = Float(Double(exp(row[j] - m)) / s) }
            labels[i] = Int32(best)
        }
        return (labels, probabilities)
    }

    /// `predict` over an array.
    public func predict(_ x: [Float], batch: Int) throws -> (labels: [Int32], probabilities: [Float]) {
        try x.withUnsafeBufferPointer { try predict($0, batch: batch) }
    }
}
