import Foundation
import Testing
import Coordinator
import Basics
import Evaluation
import Shared

@Suite struct RunReporterTests {
    /// Fold results of `PlanParts` (fold 0 tests two 3-epoch nights, fold 1 two 1-epoch
    /// nights) whose own, last-epoch and test-oracle predictions say N2, N3 and wake.
    @Test(arguments: [(ResultSelection.own, Stage.n2), (.last, .n3), (.testOracle, .wake)])
    func eachSelectionReadsItsOwnPredictions(selection: ResultSelection, stage: Stage) throws {
        let plan = try PlanParts().plan()
        let results = [1: RunPlanTests().result(plan, fold: 1), 0: RunPlanTests().result(plan, fold: 0)]
        let rows = try RunReporter.predictions(results, selection: selection)
        // Fold order, then each night's epochs in order.
        #expect(rows.map(\.recording) == ["SC4011E0", "SC4011E0", "SC4011E0", "SC4021E0", "SC4021E0", "SC4021E0", "SC4031E0", "SC4041E0"])
        #expect(rows.map(\.fold) == [0, 0, 0, 0, 0, 0, 1, 1])
        #expect(rows.map(\.epoch) == [0, 1, 2, 0, 1, 2, 0, 0])
        #expect(rows.allSatisfy { $0.predicted == stage })
        #expect(rows.map(\.truth.rawValue) == [0, 1, 2, 0, 1, 2, 0, 0])
    }

    @Test func theDefaultIsTheRunsOwnSelection() throws {
        let plan = try PlanParts().plan()
        let results = [0: RunPlanTests().result(plan, fold: 0)]
        #expect(try RunReporter.predictions(results) == RunReporter.predictions(results, selection: .own))
    }

    @Test func theRunDirectoryNamesTheThreePredictionFiles() {
        let layout = RunReporter.Layout(URL(fileURLWithPath: "/runs/a"))
        #expect(layout.predictionsCSV.path == "/runs/a/predictions.csv")
        #expect(layout.predictionsLastCSV.path == "/runs/a/predictions-last.csv")
        #expect(layout.predictionsOracleCSV.path == "/runs/a/predictions-test-oracle.csv")
    }
}
