// Tile and block sizes of the AVX-512 sgemm, in elements (Float32).
//
// The micro-kernel computes an MR × NR tile of C in 16 zmm accumulators
// (8 rows × 2 vectors of 16). A block of B (KC × NC) is packed once per
// (jc, pc) and stays in L2; a micro-panel of it (KC × NR = 32 KiB at KC 256)
// is reused from L1 by every A micro-panel (MR × KC) of the MC rows.

/// Rows of C per micro-tile.
public let sgemmMR = 8
/// Columns of C per micro-tile (two 16-lane vectors).
public let sgemmNR = 32
/// Depth of one packed block (the K loop is cut here).
public let sgemmKC = 256
/// Rows of A packed at once.
public let sgemmMC = 128
/// Columns of B packed at once.
public let sgemmNC = 1024

/// Floats the packed-A scratch must hold.
public let sgemmPackASize = sgemmMC * sgemmKC
/// Floats the packed-B scratch must hold.
public let sgemmPackBSize = sgemmKC * sgemmNC
