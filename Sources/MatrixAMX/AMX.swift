import Basics
#if arch(x86_64)
import CAMX
#endif

/// Whether this process can run bf16 tile code: the CPU has AMX-BF16 (with
/// AVX-512) and Linux gave the process the tile state (asked once, here).
public enum AMX {
    public static let isUsable: Bool = {
        #if arch(x86_64)
        return CPUFeatures.current.hasAMXBF16 && camx_request_permission() == 0
        #else
        return false
        #endif
    }()
}
