import Basics
/// Subject and night read from a Sleep-EDF file name.
///
/// Sleep Cassette names look like `SC4ssNE0…` and Sleep Telemetry names like
/// `ST7ssNJ0…`: `ss` is the two-digit subject number (more digits in synthetic
/// cohorts of 100 or more subjects), `N` the night. Only the digits matter, so `SC4001E0.npz`, `SC4001E0-PSG.edf` and
/// `SC4001EC-Hypnogram.edf` all name subject "00", night 1.
public struct SleepEDFName: Equatable, Sendable {
    /// Which Sleep-EDF study the name belongs to.
    public enum Study: String, Sendable {
        /// Sleep Cassette, `SC4…` (healthy subjects, the AttnSleep data).
        case cassette = "SC4"
        /// Sleep Telemetry, `ST7…` (temazepam study).
        case telemetry = "ST7"
    }

    public var study: Study
    /// Two-digit subject number, e.g. "00" (kept as a string, as fold plans print it).
    public var subject: String
    /// Night number (1 or 2 in Sleep-EDF).
    public var night: Int

    public init(study: Study, subject: String, night: Int) {
        self.study = study
        self.subject = subject
        self.night = night
    }

    /// The id prefix of this name, e.g. "SC4001" (study, subject, night).
    public var prefix: String { study.rawValue + subject + String(night) }

    /// Parses the last path component of `fileName`; nil if it does not follow the pattern.
    public init?(fileName: String) {
        let name = Array((fileName.split(separator: "/").last.map(String.init) ?? fileName).utf8)
        guard name.count >= 6 else { return nil }
        guard let study = Study(rawValue: String(decoding: name[0..<3], as: UTF8.self)) else { return nil }
        // The digit run after the study code: subject digits, then the night digit.
        // Sleep-EDF has two subject digits; synthetic cohorts of 100 or more
        // subjects use more (`SC41231E0` is subject "123", night 1).
        let isDigit = { (c: UInt8) in c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        let run = name[3...].prefix(while: isDigit).count
        guard run >= 3 else { return nil }
        self.study = study
        self.subject = String(decoding: name[3..<(3 + run - 1)], as: UTF8.self)
        self.night = Int(name[3 + run - 1] - UInt8(ascii: "0"))
    }
}
