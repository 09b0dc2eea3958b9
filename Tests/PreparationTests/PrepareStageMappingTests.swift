import Foundation
import Testing
import Basics
import Recordings
import Cohorts
import EDF
import Preparation
import TestSupport

@Test func sleepEDFMappingFollowsTheReferencePreparation() {
    let m = StageMapping.sleepEDF
    #expect(m.action(for: "Sleep stage W") == .stage(.wake))
    #expect(m.action(for: "Sleep stage 1") == .stage(.n1))
    #expect(m.action(for: "Sleep stage 2") == .stage(.n2))
    #expect(m.action(for: "Sleep stage 3") == .stage(.n3))
    #expect(m.action(for: "Sleep stage 4") == .stage(.n3))
    #expect(m.action(for: "Sleep stage R") == .stage(.rem))
    #expect(m.action(for: "Sleep stage ?") == .drop)
    #expect(m.action(for: "Movement time") == .drop)
    #expect(m.action(for: "Lights off") == .ignore)
    #expect(m.action(for: "sleep stage w") == .ignore)
}

@Test func aJSONMapReadsOtherVocabularies() throws {
    let m = try StageMapping(contentsOf: EDFFixtures.url("aasm-stage-map.json"))
    #expect(m.stages == ["Sleep stage W": .wake, "Sleep stage N1": .n1, "Sleep stage N2": .n2,
                         "Sleep stage N3": .n3, "Sleep stage R": .rem, "Sleep stage N4": .n3])
    #expect(m.dropped == ["Sleep stage ?", "Movement time", "Sleep stage U"])
    // The map drives epoch selection: "1" of R&K is no stage in this vocabulary.
    let plan = Preparation.epochPlan(
        annotations: [EDFAnnotation(onset: 0, duration: 60, text: "Sleep stage N1"),
                      EDFAnnotation(onset: 60, duration: 30, text: "Sleep stage U"),
                      EDFAnnotation(onset: 90, duration: 30, text: "Sleep stage 1"),
                      EDFAnnotation(onset: 120, duration: 30, text: "Sleep stage N4")],
        signalCount: 5 * 3000, sampleRate: 100, mapping: m, trimWakeMinutes: nil)
    #expect(plan.stages == [.n1, .n1, .n3])
    #expect(plan.starts == [0, 3000, 12000])
    #expect(plan.droppedEpochs == ["Sleep stage U": 1])
    #expect(plan.ignoredAnnotations == ["Sleep stage 1": 1])
}

@Test(arguments: [
    ("[1, 2]", nil),
    ("{\"stages\": {}}", "stages"),
    ("{\"drop\": [\"?\"]}", "stages"),
    ("{\"stages\": {\"W\": \"N4\"}}", "stages['W']"),
    ("{\"stages\": {\"W\": 5}}", "stages['W']"),
    ("{\"stages\": {\"W\": 1.5}}", "stages['W']"),
    ("{\"stages\": {\"W\": true}}", "stages['W']"),
    ("{\"stages\": {\"W\": \"W\"}, \"drop\": \"?\"}", "drop"),
    ("{\"stages\": {\"W\": \"W\"}, \"drop\": [\"W\"]}", "drop['W']"),
    ("{\"stages\": {\"W\": \"W\"}, \"drops\": []}", "key 'drops'"),
    ("{\"stages\": ", nil),
] as [(String, String?)])
func badMapsAreErrorsNamingTheField(json: String, field: String?) throws {
    let error = try #require(throws: SleepfoldError.self) {
        try StageMapping(json: Data(json.utf8), file: "map.json")
    }
    #expect(error.code == .badStageMap && error.file == "map.json")
    #expect(error.field == field, "\(error)")
    #expect(error.message.hasPrefix("found ") && error.message.contains(", expected "), "\(error)")
}
