import Shared
import Reports

extension FoldHistory {
    /// The history a fold result carries (the journal's entry of a finished fold).
    public init(_ result: Sleepfold_FoldResult) {
        self.init(fold: Int(result.fold),
                  chosenEpoch: result.chosenEpoch > 0 ? Int(result.chosenEpoch) : nil,
                  epochs: result.history.map { record in
                      Epoch(epoch: Int(record.epoch), trainLoss: record.trainLoss,
                            validationLoss: record.validationLoss,
                            validationAccuracy: record.validationAccuracy,
                            validationMacroF1: record.validationMacroF1)
                  })
    }
}
