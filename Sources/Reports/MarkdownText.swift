import Foundation

/// Text helpers of report.md and the markdown sections other reports reuse:
/// tables and number formats.
enum MarkdownText {
    /// A markdown table with a header row; ends with a blank line.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var text = "| " + header.joined(separator: " | ") + " |\n"
        text += "|" + header.map { _ in " --- |" }.joined() + "\n"
        for row in rows { text += "| " + row.joined(separator: " | ") + " |\n" }
        return text + "\n"
    }

    /// A fraction in percent with one decimal ("82.3"), or "–" when undefined.
    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.1f", $0 * 100) } ?? "–"
    }

    /// A value with three decimals ("0.753"), or "–" when undefined.
    static func fraction(_ value: Double?) -> String {
        value.map { String(format: "%.3f", $0) } ?? "–"
    }

    /// Keeps user text (directories, ids) from breaking a table row.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
