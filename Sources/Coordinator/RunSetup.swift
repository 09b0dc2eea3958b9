import Foundation
import Basics
import Recordings
import Cohorts
import Evaluation
import Reports
import Shared

/// A run fully described: cohort, fold plan, config, seed and selection, and
/// the `RunPlan` the coordinator hands out. Building it twice from the same
/// inputs gives the same run id, which is what lets a restarted coordinator
/// trust its journal.
public struct RunSetup: Sendable {
    public let cohort: Cohort
    public let foldPlan: FoldPlan
    public let foldPlanKind: FoldPlanKind
    public let selection: SelectionMode
    public let configJSON: String
    public let plan: RunPlan

    /// - Parameters:
    ///   - cohort: scanned with content hashes (`computeHashes: true`).
    ///   - foldPlanJSON: `foldPlan.jsonData()`, when the caller has it already (a study's runs
    ///     share one fold plan per seed and selection, and encoding it is slow).
    ///   - cost: a fold's expected work from its epoch counts (training; validation + test,
    ///     which are scored every epoch), for the queue's longest-first order. By default
    ///     its training epochs; a study weighs them by its arms' FLOPs (`Studies.TaskCost`).
    /// - Throws: `SleepfoldError` (`.invalidRunPlan`) when the run breaks a rule of
    ///   `RunPlan`, e.g. a recording without a content hash or a fold without test recordings.
    public init(cohort: Cohort, foldPlan: FoldPlan, foldPlanJSON: Data? = nil, foldPlanKind: FoldPlanKind, configJSON: String,
                seed: UInt64, selection: SelectionMode, epochs: Int,
                cost: (_ trainEpochs: Int, _ evaluatedEpochs: Int) -> Int = { train, _ in train }) throws {
        self.cohort = cohort
        self.foldPlan = foldPlan
        self.foldPlanKind = foldPlanKind
        self.selection = selection
        self.configJSON = configJSON

        var refs: [String: Sleepfold_RecordingRef] = [:]
        var files: [String: URL] = [:]
        var epochCounts: [String: Int] = [:]
        var idHasher = SHA256()
        for r in cohort.recordings {
            // A missing hash stays empty here; the plan's check names the file.
            let hash = r.contentHash ?? ""
            refs[r.id] = .with { ref in
                ref.id = r.id
                ref.subject = r.subject
                ref.sha256 = hash
                ref.sizeBytes = (try? FileManager.default.attributesOfItem(atPath: r.url.path)[.size] as? NSNumber)?.uint64Value ?? 0
                ref.fileName = r.url.lastPathComponent
            }
            files[r.id] = r.url
            epochCounts[r.id] = r.epochCount
            idHasher.update(Array("\(r.id) \(r.subject) \(hash)\n".utf8))
        }
        idHasher.update(Array(foldPlanJSON ?? foldPlan.jsonData()))
        idHasher.update(Array("\n\(configJSON)\n\(seed) \(selection.rawValue) \(epochs)".utf8))
        let runID = String(idHasher.hexDigest().prefix(16))

        // Each subject's recordings in cohort order (as `cohort.recordings(ofSubject:)`) and
        // epochs, found once: a scan per subject and fold cost seconds for a study of 10,000 tasks.
        // Every fold points into one list of the cohort's recordings (`RunPlan.Fold`).
        let recordings = cohort.recordings.map { refs[$0.id]! }
        let bySubject = Dictionary(grouping: cohort.recordings.indices, by: { cohort.recordings[$0].subject })
        let positionsBySubject = bySubject.mapValues { $0.map { Int32($0) } }
        let epochsBySubject = bySubject.mapValues { $0.reduce(0) { $0 + cohort.recordings[$1].epochCount } }
        func positions(_ subjects: [String]) -> [Int32] {
            var list: [Int32] = []
            for subject in subjects { list += positionsBySubject[subject] ?? [] }
            return list
        }
        func epochCount(_ subjects: [String]) -> Int {
            subjects.reduce(0) { $0 + (epochsBySubject[$1] ?? 0) }
        }
        let folds = foldPlan.folds.map { fold in
            RunPlan.Fold(recordings: recordings, train: positions(fold.train), validation: positions(fold.validation),
                         test: positions(fold.test),
                         cost: cost(epochCount(fold.train), epochCount(fold.validation) + epochCount(fold.test)))
        }
        plan = try RunPlan(runID: runID, folds: folds, configJSON: configJSON, seed: seed,
                           selection: selection.rawValue, epochs: epochs, files: files,
                           epochCounts: epochCounts)
    }

    public var recordingSubjects: [String: String] {
        Dictionary(uniqueKeysWithValues: cohort.recordings.map { ($0.id, $0.subject) })
    }

    public var dataSummary: DataSummary {
        var perClass = [Int](repeating: 0, count: Stage.count)
        for r in cohort.recordings { for k in 0..<Stage.count { perClass[k] += r.classCounts[k] } }
        return DataSummary(directory: cohort.source.path, recordings: cohort.recordings.count,
                           subjects: cohort.subjects.count, epochsPerClass: perClass)
    }
}
