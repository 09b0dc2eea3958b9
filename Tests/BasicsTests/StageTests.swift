import Testing
import Basics

@Test func stageLabelsFollowTheAttnSleepFormat() {
    #expect(Stage.allCases.map(\.rawValue) == [0, 1, 2, 3, 4])
    #expect(Stage.allCases.map(\.name) == ["W", "N1", "N2", "N3", "REM"])
}
