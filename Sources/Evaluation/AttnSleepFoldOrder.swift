import Basics
/// The subject order of the AttnSleep paper's subject-wise folds, copied from
/// reference/attnsleep-fold-order.json.
///
/// Entry `i` is an index into the subjects sorted by id: the paper's order is
/// `sortedSubjects[order[0]], sortedSubjects[order[1]], …`. Only the two
/// Sleep-EDF cohorts have an order: 20 subjects (Sleep-EDF-20) and 78 subjects
/// (Sleep-EDF-78). Embedded in code so that a run never depends on a file
/// that may be missing next to the binary.
public enum AttnSleepFoldOrder {
    /// Sleep-EDF-20 (SC4 subjects 00…19).
    public static let sleepEDF20: [Int] = [
        14, 5, 4, 17, 8, 7, 19, 12, 0, 15, 16, 9, 11, 10, 3, 1, 6, 18, 2, 13,
    ]

    /// Sleep-EDF-78 (the 78 SC4 subjects of the expanded set).
    public static let sleepEDF78: [Int] = [
        42, 11, 19, 46, 24, 47, 61, 71, 58, 66, 6, 22, 31, 5, 12, 54, 4, 67, 37, 68, 48, 39, 13,
        15, 20, 23, 70, 18, 3, 64, 55, 62, 27, 7, 0, 36, 40, 44, 50, 2, 75, 43, 26, 1, 29, 14, 72,
        57, 73, 59, 32, 65, 34, 63, 69, 33, 35, 77, 53, 16, 74, 56, 28, 17, 52, 30, 76, 51, 49,
        25, 21, 38, 8, 41, 9, 10, 60, 45,
    ]

    /// The order for a cohort of `subjectCount` subjects, or nil when the paper has none.
    public static func order(subjectCount: Int) -> [Int]? {
        switch subjectCount {
        case sleepEDF20.count: return sleepEDF20
        case sleepEDF78.count: return sleepEDF78
        default: return nil
        }
    }
}
