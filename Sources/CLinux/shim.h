// Linux calls of glibc that Swift's Glibc module leaves out (declared by <unistd.h> only
// under _GNU_SOURCE). syncfs(2): the coordinator's write-ahead logs make a run's files
// durable with one call per file system instead of one fsync per file.
int syncfs(int fd);
