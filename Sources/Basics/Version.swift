/// sleepfold's version, announced by workers and written into reports.
public let sleepfoldVersion = "0.1.0"
