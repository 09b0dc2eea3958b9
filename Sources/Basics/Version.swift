/// sleepfold's version, the only one: announced by workers, written into reports and
/// checkpoints, printed by `sleepfold --version`.
public let sleepfoldVersion = "0.1.0"
