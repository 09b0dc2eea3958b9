/// Numbers as the coordinator's hot log lines and file names print them, without
/// `String(format:)`: at 1,000 workers the loop writes about 250 lines a second, and
/// formatting them through Foundation's printf cost 4 % of the coordinator's CPU
/// (Benchmarks/load/results/profile-steady-d6515f5.txt).
public enum LogNumber {
    /// `value` with `places` decimals, as `%.<places>f` prints it (a value halfway between
    /// two may round the other way; non-finite values as "nan", "inf", "-inf").
    public static func fixed(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        // Beyond what Int64 holds exactly, printf's own rendering.
        guard scaled < 9e15 else { return String(describing: value) }
        let units = Int64(scaled), whole = units / Int64(scale), fraction = units % Int64(scale)
        let sign = value.sign == .minus ? "-" : ""   // as printf: "-0.000" for -0.0001
        guard places > 0 else { return sign + String(whole) }
        let digits = String(fraction)
        return sign + String(whole) + "." + String(repeating: "0", count: places - digits.count) + digits
    }

    /// `n` with at least two digits, as `%02d` prints it.
    public static func twoDigits(_ n: Int) -> String {
        (0...9).contains(n) ? "0" + String(n) : String(n)
    }
}
