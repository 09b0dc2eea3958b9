import Foundation
import Basics
import Evaluation

/// Text helpers of report.html: escaping and number formats.
enum HTMLText {
    /// `text` safe inside an element or a quoted attribute: & < > " ' escaped.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A fraction as a percentage with one decimal ("82.3"), or "–" when undefined.
    static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.1f", value * 100)
    }

    /// A value with three decimals ("0.753"), or "–" when undefined.
    static func fraction(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.3f", value)
    }

    /// A mean ± sd of fractions in percent ("81.0 ± 3.2"); the sd is left out when undefined.
    static func percentMeanSD(_ statistic: MeanSD) -> String {
        guard let mean = statistic.mean else { return "–" }
        guard let sd = statistic.sd else { return percent(mean) }
        return "\(percent(mean)) ± \(percent(sd))"
    }

    /// A mean ± sd with three decimals ("0.741 ± 0.052").
    static func fractionMeanSD(_ statistic: MeanSD) -> String {
        guard let mean = statistic.mean else { return "–" }
        guard let sd = statistic.sd else { return fraction(mean) }
        return "\(fraction(mean)) ± \(fraction(sd))"
    }

    /// An SVG coordinate: one decimal, no exponent ("12.5").
    static func coordinate(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        return String(format: "%.1f", value)
    }

    /// A count with thin-space thousands separators ("12 345").
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "\u{202F}" }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }
}
