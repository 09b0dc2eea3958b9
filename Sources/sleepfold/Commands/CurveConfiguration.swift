import ArgumentParser
import Foundation
import Shared

/// CURVE for a coordinator (`coordinator`, `study --bind`): its key pair and the
/// admitted workers' public keys, or nil when neither option is given.
func curveConfiguration(secret: String?, allow: String?) throws -> (keys: CurveKeyPair, allowedWorkers: [String])? {
    switch (secret, allow) {
    case (nil, nil): return nil
    case (let secret?, let dir?):
        return (try CurveKeyFile.readKeyPair(URL(fileURLWithPath: secret)),
                try CurveKeyFile.readPublicKeys(directory: URL(fileURLWithPath: dir)))
    default:
        throw ValidationError("CURVE needs both --curve-secret and --allow")
    }
}
