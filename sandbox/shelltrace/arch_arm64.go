//go:build linux

package shelltrace

import "golang.org/x/sys/unix"

const auditArch = unix.AUDIT_ARCH_AARCH64

func archMasked(uint32) []masked { return nil }

func archDecode(int, uint64, [6]uint64) *call { return nil }

func archRescan(uint64) bool { return false }
