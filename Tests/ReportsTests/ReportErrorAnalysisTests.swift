import Foundation
import Testing
import Basics
import Recordings
import Evaluation
import Reports
import TestSupport

/// The error analysis in report.json, report.html and report.md, and its HTML and
/// markdown sections on their own (which other reports reuse).
@Suite struct ReportErrorAnalysisTests {
    /// One night's predictions from its true and predicted stages.
    private func night(_ recording: String, fold: Int, truth: [Stage], predicted: [Stage]) throws -> [Prediction] {
        try zip(truth, predicted).enumerated().map { epoch, pair in
            try Prediction(recording: recording, epoch: epoch, fold: fold, truth: pair.0, predicted: pair.1,
                           probabilities: [0.2, 0.2, 0.2, 0.2, 0.2])
        }
    }

    /// Night A: 10 epochs, errors W→N1 at 2 and N1→N2 at 4 (transitions), N2→W at 8 (stable).
    /// Night B: 6 epochs of N2, predicted N1 at 0, 1 and 5.
    private func twoNights() throws -> [Prediction] {
        try night("A", fold: 0, truth: [.wake, .wake, .wake, .n1, .n1, .n2, .n2, .n2, .n2, .n2],
                  predicted: [.wake, .wake, .n1, .n1, .n2, .n2, .n2, .n2, .wake, .n2])
            + night("B", fold: 1, truth: Array(repeating: .n2, count: 6), predicted: [.n1, .n1, .n2, .n2, .n2, .n1])
    }

    private func section(_ html: String, id: String) throws -> String {
        let start = try #require(html.range(of: "<section id=\"\(id)\""))
        let end = try #require(html.range(of: "</section>", range: start.upperBound..<html.endIndex))
        return String(html[start.lowerBound..<end.upperBound])
    }

    @Test func theHTMLSectionShowsTheHandCountedNumbers() throws {
        let predictions = try twoNights()
        let analysis = ErrorAnalysis(predictions: predictions, recordingSubjects: ["A": "01", "B": "02"])
        let html = analysis.htmlSection(predictions: predictions)
        #expect(html.hasPrefix("<section id=\"errors\" class=\"error-analysis\">\n<h2>Error analysis</h2>"))
        // 6 of 16 wrong, 2 of them at the 4 transition epochs (25 % of all).
        #expect(html.contains("<p>6 of 16 epochs are wrong. <strong>33.3 % of the errors</strong> fall at a stage transition, which is where 25.0 % of the epochs are.</p>"))
        #expect(html.contains("<tr><th>at a transition</th><td>4</td><td>25.0</td><td>50.0</td>"))
        #expect(html.contains("<tr><th>stable</th><td>12</td><td>75.0</td><td>66.7</td>"))
        #expect(html.contains("<td>2</td><td>33.3</td></tr>") && html.contains("<td>4</td><td>66.7</td></tr>"))

        // Confusions, most frequent first, with each fifth's count.
        let rows = html.matches(of: /<tr data-truth="([A-Z0-9]+)" data-predicted="([A-Z0-9]+)">/)
            .map { "\($0.output.1)>\($0.output.2)" }
        #expect(rows == ["N2>N1", "W>N1", "N1>N2", "N2>W"])
        let counts = html.matches(of: /<td class="fifth" data-count="(\d+)"/).map { Int($0.output.1)! }
        #expect(counts == analysis.topConfusions.flatMap(\.perFifth))
        #expect(Array(counts.prefix(5)) == [2, 0, 0, 0, 1])
        // The rate under each count: N2→N1 in the first fifth is 2 of its 2 N2 epochs.
        #expect(html.contains("title=\"2 of 2 N2 epochs in the 1st fifth\"><span class=\"cm-count\">2</span><span class=\"cm-share\">100.0 %</span>"))

        // Worst nights, worst first, each with a hypnogram of its own predictions.
        let figures = html.matches(of: /<figure class="worst-night" data-recording="([A-Z]+)">/).map { String($0.output.1) }
        #expect(figures == ["B", "A"])
        #expect(html.contains("The 2 test nights with the lowest accuracy, lowest first; in each hypnogram"))
        #expect(html.components(separatedBy: "<svg class=\"hypnogram-plot\"").count - 1 == 2)
        #expect(html.contains("1. <strong>B</strong> — subject 02, fold 1, 6 epochs; accuracy 50.0 %"))
        // B differs at 0–1 and 5, A at 2, 4 and 8: one orange mark per run of differing epochs.
        #expect(html.components(separatedBy: "<rect class=\"differ\"").count - 1 == 2 + 3)
    }

    @Test func theHTMLSectionCanBeTitledAndNestedForAnotherPage() throws {
        let predictions = try twoNights()
        let analysis = ErrorAnalysis(predictions: predictions, recordingSubjects: [:], worstNights: 1)
        let html = analysis.htmlSection(predictions: [], id: "arm-<b>", title: "Arm \"B\" & co", headingLevel: 3)
        #expect(html.hasPrefix("<section id=\"arm-&lt;b&gt;\" class=\"error-analysis\">\n<h3>Arm &quot;B&quot; &amp; co</h3>"))
        #expect(html.contains("<h4>Most frequent confusions</h4>") && html.contains("<h4>Worst nights</h4>"))
        #expect(!html.contains("<h2>"))
        // No predictions given: the night is listed without a hypnogram.
        #expect(html.contains("<strong>B</strong> — fold 1"))
        #expect(html.contains("The test night with the lowest accuracy; in its hypnogram"))
        #expect(html.contains("No predictions of this night were given") && !html.contains("<svg"))

        let empty = ErrorAnalysis(predictions: [], recordingSubjects: [:]).htmlSection(predictions: [])
        #expect(empty.contains("No predictions yet.") && empty.hasSuffix("</section>\n"))
        let perfect = ErrorAnalysis(predictions: try night("P", fold: 0, truth: [.wake, .n1], predicted: [.wake, .n1]),
                                    recordingSubjects: [:]).htmlSection(predictions: [])
        #expect(perfect.contains("0 of 2 epochs are wrong. 100.0 % of the epochs are at a stage transition."))
        #expect(perfect.contains("<p class=\"note\">No errors.</p>"))
    }

    @Test func theMarkdownSectionHasTheSameTables() throws {
        let predictions = try twoNights()
        let md = ErrorAnalysis(predictions: predictions, recordingSubjects: ["A": "01"]).markdownSection()
        #expect(md.hasPrefix("## Error analysis\n\n"))
        #expect(md.contains("33.3 % of the 6 errors fall at a transition, where 25.0 % of the epochs are."))
        #expect(md.contains("| at a transition | 4 | 25.0 | 50.0 | "))
        #expect(md.contains("### Most frequent confusions"))
        #expect(md.contains("| N2 | N1 | 3 | 50.0 | 2 | 0 | 0 | 0 | 1 | 0.0 |"))
        #expect(md.contains("| W | N1 | 1 | 16.7 | 0 | 1 | 0 | 0 | 0 | 0.0 |"))
        #expect(md.contains("### Worst nights"))
        #expect(md.contains("| B | – | 1 | 6 | 50.0 | "))
        #expect(md.contains("| A | 01 | 0 | 10 | 70.0 | "))
        let nested = ErrorAnalysis(predictions: predictions, recordingSubjects: [:]).markdownSection(title: "Arm | B", headingLevel: 3)
        #expect(nested.hasPrefix("### Arm \\| B\n\n") && nested.contains("#### Worst nights"))
    }

    @Test func theReportStoresAndRendersTheAnalysisOfItsPredictions() throws {
        let run = try SmallRun(skipFold: 1)
        let report = try Report(predictions: run.predictions, plan: run.plan, recordingSubjects: run.recordingSubjects,
                                data: DataSummary(directory: "d", recordings: 12, subjects: 6, epochsPerClass: [1, 1, 1, 1, 1]),
                                protocol: ProtocolSummary(folds: 3, foldPlan: .seeded, seed: 11, selection: .validation),
                                config: .null, sleepfoldVersion: "0.1.0")
        let analysis = try #require(report.errorAnalysis)
        #expect(analysis == ErrorAnalysis(predictions: run.predictions, recordingSubjects: run.recordingSubjects))
        #expect(analysis.transitions.epochs + analysis.stable.epochs == report.pooled.epochs)
        #expect(analysis.errors == report.pooled.epochs - report.pooled.confusion.correct)
        #expect(analysis.worstNights.count == 3 && analysis.topConfusions.count == 5)
        // The worst night is no better than any subject's average.
        let worst = try #require(analysis.worstNights.first?.metrics.accuracy)
        #expect(report.subjects.compactMap(\.metrics.accuracy).allSatisfy { $0 >= worst })

        let json = try #require(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        let stored = try #require(json["error_analysis"] as? [String: Any])
        #expect(stored["errors"] as? Int == analysis.errors)
        #expect((stored["worst_nights"] as? [[String: Any]])?.first?["recording"] as? String == analysis.worstNights[0].recording)

        let html = report.html(predictions: run.predictions, histories: [])
        #expect(try section(html, id: "errors") + "\n" == analysis.htmlSection(predictions: run.predictions))
        // After the confusion matrix, before the folds.
        let errors = try #require(html.range(of: "<section id=\"errors\"")), folds = try #require(html.range(of: "<section id=\"folds\">"))
        let confusion = try #require(html.range(of: "<section id=\"confusion\">"))
        #expect(confusion.lowerBound < errors.lowerBound && errors.lowerBound < folds.lowerBound)
        #expect(report.markdown().contains(analysis.markdownSection()))
    }
}
