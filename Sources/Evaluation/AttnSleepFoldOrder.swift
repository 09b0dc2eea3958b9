import Basics

/// The subject order of the AttnSleep paper's subject-wise folds, copied from
/// reference/attnsleep-fold-order.json (orders) and
/// reference/attnsleep-shhs1-subjects.txt (the SHHS recordings).
///
/// Entry `i` of an order is an index into the subjects sorted by id: the paper's
/// order is `sortedSubjects[order[0]], sortedSubjects[order[1]], …` (numpy's
/// `sorted_subjects[order]`, as the paper's `load_folds_data` and
/// `load_folds_data_shhs` index their sorted file lists). Three cohorts have an
/// order: Sleep-EDF-20 (20 subjects), Sleep-EDF-78 (78) and the paper's SHHS
/// selection (329 SHHS1 recordings, one per participant). Embedded in code so that
/// a run never depends on a file that may be missing next to the binary.
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

    /// The paper's SHHS selection: index into `shhsParticipants` (sorted), 329 entries.
    public static let shhs: [Int] = [
        134, 85, 278, 138, 277, 316, 244, 210, 50, 257, 220, 274, 230, 291, 271, 174, 258, 2, 259, 156, 238, 245,
        184, 310, 307, 222, 145, 101, 13, 303, 125, 106, 196, 293, 60, 131, 172, 194, 298, 76, 51, 190, 67, 200,
        43, 129, 140, 96, 142, 283, 261, 113, 224, 128, 118, 226, 241, 147, 6, 119, 201, 164, 327, 208, 132, 46,
        209, 176, 308, 171, 165, 95, 103, 219, 321, 218, 202, 213, 154, 65, 116, 234, 318, 7, 9, 73, 253, 105,
        158, 38, 104, 149, 120, 205, 152, 98, 309, 288, 8, 268, 37, 80, 193, 148, 92, 167, 25, 177, 306, 135, 150,
        216, 90, 240, 239, 326, 62, 198, 40, 296, 233, 300, 221, 179, 99, 263, 312, 255, 243, 136, 130, 262, 110,
        237, 33, 267, 252, 212, 114, 122, 289, 203, 297, 41, 44, 225, 275, 284, 192, 5, 270, 189, 188, 30, 247,
        18, 61, 86, 319, 161, 266, 285, 93, 121, 35, 235, 260, 48, 58, 181, 273, 97, 89, 311, 246, 153, 163, 141,
        102, 249, 52, 229, 157, 4, 23, 45, 84, 42, 49, 178, 282, 12, 292, 108, 315, 27, 68, 314, 57, 228, 204,
        66, 175, 231, 182, 115, 55, 109, 28, 34, 166, 287, 207, 19, 81, 20, 88, 180, 232, 186, 54, 117, 72, 21,
        173, 123, 137, 313, 31, 187, 10, 217, 324, 36, 162, 279, 112, 64, 302, 94, 183, 124, 265, 223, 160, 295,
        301, 100, 250, 254, 185, 276, 206, 320, 151, 143, 214, 256, 83, 53, 146, 144, 127, 78, 0, 248, 32, 195,
        79, 197, 16, 133, 191, 317, 91, 170, 272, 75, 82, 139, 169, 56, 325, 87, 155, 323, 24, 236, 199, 290, 269,
        74, 294, 286, 59, 168, 111, 69, 304, 70, 11, 251, 305, 280, 227, 14, 26, 159, 15, 264, 242, 215, 3, 328,
        77, 71, 63, 39, 322, 126, 211, 47, 22, 107, 29, 17, 299, 281, 1,
    ]

    /// The participants of the 329 SHHS1 recordings the paper uses, sorted: recording
    /// `shhs1-<participant>` (e.g. "shhs1-200010"). `sleepfold prepare --annotations`
    /// makes the participant number the subject id (see `NightFiles.nsrrSubjectAndVisit`).
    public static let shhsParticipants: [String] = [
        "200010", "200017", "200039", "200052", "200097", "200122", "200139", "200152", "200166", "200174",
        "200178", "200214", "200215", "200258", "200319", "200336", "200348", "200349", "200383", "200390",
        "200408", "200409", "200437", "200466", "200467", "200477", "200496", "200516", "200536", "200558",
        "200569", "200606", "200631", "200645", "200665", "200691", "200701", "200702", "200725", "200737",
        "200741", "200771", "200780", "200783", "200785", "200793", "200805", "200823", "200834", "200843",
        "200853", "200869", "200870", "200879", "200884", "200886", "200895", "200897", "200902", "200914",
        "200920", "200922", "200924", "200953", "200964", "200975", "200983", "201021", "201023", "201081",
        "201087", "201090", "201102", "201117", "201118", "201125", "201153", "201171", "201180", "201237",
        "201243", "201254", "201270", "201316", "201329", "201359", "201371", "201515", "201552", "201560",
        "201566", "201581", "201586", "201637", "201706", "201725", "201748", "201792", "201839", "201917",
        "201946", "201986", "202003", "202039", "202054", "202097", "202108", "202139", "202160", "202222",
        "202240", "202253", "202257", "202261", "202267", "202282", "202293", "202392", "202409", "202424",
        "202516", "202552", "202589", "202636", "202650", "202675", "202694", "202715", "202723", "202735",
        "202738", "202865", "202907", "202911", "202940", "202956", "202983", "202987", "202996", "203027",
        "203040", "203106", "203137", "203168", "203171", "203173", "203180", "203185", "203203", "203218",
        "203233", "203250", "203254", "203286", "203312", "203324", "203350", "203358", "203380", "203381",
        "203389", "203409", "203410", "203421", "203433", "203460", "203478", "203479", "203514", "203523",
        "203533", "203546", "203547", "203580", "203614", "203622", "203651", "203655", "203687", "203691",
        "203699", "203726", "203734", "203746", "203791", "203824", "203845", "203847", "203850", "203862",
        "203870", "203884", "203889", "203897", "203901", "203941", "203965", "203971", "203997", "204009",
        "204027", "204028", "204041", "204042", "204047", "204051", "204062", "204074", "204083", "204094",
        "204103", "204106", "204107", "204111", "204115", "204132", "204134", "204145", "204148", "204149",
        "204165", "204187", "204189", "204219", "204230", "204234", "204282", "204283", "204294", "204298",
        "204299", "204317", "204318", "204350", "204351", "204355", "204401", "204405", "204431", "204434",
        "204453", "204473", "204486", "204494", "204500", "204509", "204519", "204529", "204543", "204550",
        "204553", "204554", "204576", "204611", "204641", "204666", "204684", "204688", "204706", "204710",
        "204714", "204724", "204731", "204737", "204741", "204743", "204745", "204748", "204751", "204754",
        "204775", "204777", "204781", "204783", "204785", "204787", "204796", "204802", "204811", "204817",
        "204818", "204826", "204830", "204831", "204836", "204844", "204846", "204851", "204865", "204873",
        "204879", "204887", "204890", "204894", "204905", "204908", "204911", "204916", "204927", "204928",
        "204934", "204980", "204985", "205045", "205049", "205071", "205083", "205146", "205148", "205178",
        "205207", "205213", "205238", "205244", "205245", "205257", "205380", "205429", "205451", "205477",
        "205502", "205516", "205582", "205610", "205676", "205700", "205741", "205780", "205789",
    ]

    /// The paper's order for a cohort whose subject ids, sorted, are `sortedSubjects`.
    ///
    /// - 20 or 78 subjects: the Sleep-EDF-20 or Sleep-EDF-78 order. Any ids: the order
    ///   indexes subjects by rank, as the paper indexes its sorted SC4 file names (so a
    ///   synthetic 20-subject cohort gets the paper's fold shapes too).
    /// - 329 subjects: the SHHS order, only when the subjects are exactly the paper's
    ///   recordings, as participant numbers ("200010") or recording ids ("shhs1-200010").
    ///   The SHHS order is a permutation of those particular recordings (out of SHHS1's
    ///   5,793), not of ranks in any cohort: applied to 329 other nights it would give
    ///   folds that carry the paper's name but none of its subjects, so it is refused.
    ///
    /// - Throws: `.attnsleepSHHSSubjects` for 329 subjects that are not the paper's,
    ///   `.attnsleepSubjectCount` for any other count.
    public static func order(sortedSubjects: [String]) throws(SleepfoldError) -> [Int] {
        switch sortedSubjects.count {
        case sleepEDF20.count: return sleepEDF20
        case sleepEDF78.count: return sleepEDF78
        case shhs.count:
            if sortedSubjects == shhsParticipants || sortedSubjects == shhsParticipants.map({ "shhs1-" + $0 }) {
                return shhs
            }
            // Name what is wrong: nights outside the paper's selection, or the right nights
            // named in two ways (their sorted order would then not be the paper's).
            let known = Set(shhsParticipants)
            let strangers = sortedSubjects.filter { !known.contains($0.hasPrefix("shhs1-") ? String($0.dropFirst(6)) : $0) }
            guard let first = strangers.first else {
                throw SleepfoldError(.attnsleepSHHSSubjects, field: "--fold-plan attnsleep",
                                     found: "the paper's 329 SHHS1 recordings, some named by participant (200010) and "
                                     + "some by recording (shhs1-200010)", expected: "one form for all subjects")
            }
            throw SleepfoldError(.attnsleepSHHSSubjects, field: "--fold-plan attnsleep",
                                 found: "329 subjects, \(strangers.count) of them not among the paper's SHHS1 recordings "
                                 + "(first: \"\(first)\")",
                                 expected: "exactly its 329 recordings (shhs1-200010 … as subjects 200010 …, see "
                                 + "docs/reproduce.md), or --fold-plan seeded")
        default:
            throw SleepfoldError(.attnsleepSubjectCount, field: "--fold-plan attnsleep",
                                 "found \(sortedSubjects.count) subjects, expected 20 (Sleep-EDF-20), 78 (Sleep-EDF-78) "
                                 + "or 329 (the paper's SHHS1 recordings); use --fold-plan seeded")
        }
    }
}
