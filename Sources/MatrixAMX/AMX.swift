import Basics
#if canImport(Glibc)
import Glibc
#endif
#if arch(x86_64)
import CAMX
#endif

/// Whether this process can run bf16 tile code: the CPU has AMX-BF16 (with
/// AVX-512) and Linux gave the process the tile state (asked once, here).
/// `SLEEPFOLD_AMX=off` turns the tiles off for the process: bf16 then runs as fp32,
/// as on a CPU without them (to compare, and to test that path on any machine).
public enum AMX {
    public static let isUsable: Bool = {
        #if arch(x86_64)
        if isTurnedOff { return false }
        return CPUFeatures.current.hasAMXBF16 && camx_request_permission() == 0
        #else
        return false
        #endif
    }()

    /// `SLEEPFOLD_AMX=off` is set.
    public static let isTurnedOff: Bool = {
        #if canImport(Glibc)
        guard let value = getenv("SLEEPFOLD_AMX") else { return false }
        return String(cString: value).lowercased() == "off"
        #else
        return false
        #endif
    }()
}
