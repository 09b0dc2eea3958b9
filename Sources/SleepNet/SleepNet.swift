import COpenBLAS

/// Version of the model core, written into checkpoints and reports.
public let sleepNetVersion = "0.1.0"
