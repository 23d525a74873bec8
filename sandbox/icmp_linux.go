package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pingOnce sends one ICMP echo request on a raw socket created on the
// calling thread, so it uses that thread's network namespace. rec gets the
// socket and sendto calls as made.
func pingOnce(dst net.IP, timeout time.Duration, rec func(Event)) (time.Duration, error) {
	const stype = unix.SOCK_RAW | unix.SOCK_CLOEXEC
	fd, err := unix.Socket(unix.AF_INET, stype, unix.IPPROTO_ICMP)
	rec(newEvent("socket", []string{"AF_INET", "SOCK_RAW|SOCK_CLOEXEC", "IPPROTO_ICMP"}, int64(fd), err))
	if err != nil {
		return 0, fmt.Errorf("raw ICMP socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return 0, fmt.Errorf("set receive timeout: %w", err)
	}
	id := uint16(os.Getpid())
	pkt := icmpEcho(id, 1, []byte("nslab"))
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET}
	copy(sa.Addr[:], dst.To4())
	start := time.Now()
	// The raw syscall, not unix.Sendto: the trace shows the byte count the
	// kernel returned, which unix.Sendto drops.
	n, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&pkt[0])), uintptr(len(pkt)), 0,
		uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	err = errnoOrNil(errno)
	ev := newEvent("sendto", []string{strconv.Itoa(fd), strArg(string(pkt)), strconv.Itoa(len(pkt)), "0",
		fmt.Sprintf("{sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(%q)}", dst.String()),
		strconv.Itoa(int(unsafe.Sizeof(sa)))}, int64(n), err)
	ev.Note = fmt.Sprintf("one ICMP echo request (type 8, id %d, seq 1, payload \"nslab\") to %s", id, dst)
	rec(ev)
	if err != nil {
		return 0, fmt.Errorf("send echo request: %w", err)
	}
	buf := make([]byte, 1500)
	for time.Since(start) < timeout {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			if errors.Is(err, unix.EAGAIN) {
				return 0, fmt.Errorf("no reply within %v: %w", timeout, unix.ETIMEDOUT)
			}
			return 0, fmt.Errorf("receive: %w", err)
		}
		src, ok := from.(*unix.SockaddrInet4)
		if !ok || !net.IP(src.Addr[:]).Equal(dst) || n < 20 {
			continue
		}
		ihl := int(buf[0]&0x0f) * 4
		if n < ihl+8 {
			continue
		}
		icmp := buf[ihl:n]
		if icmp[0] == 0 && uint16(icmp[4])<<8|uint16(icmp[5]) == id {
			return time.Since(start), nil
		}
	}
	return 0, fmt.Errorf("no reply within %v: %w", timeout, unix.ETIMEDOUT)
}

// icmpEcho builds an ICMP echo request with its checksum (RFC 792).
func icmpEcho(id, seq uint16, payload []byte) []byte {
	b := make([]byte, 8+len(payload))
	b[0] = 8 // echo request
	b[4], b[5] = byte(id>>8), byte(id)
	b[6], b[7] = byte(seq>>8), byte(seq)
	copy(b[8:], payload)
	cs := inetChecksum(b)
	b[2], b[3] = byte(cs>>8), byte(cs)
	return b
}

func inetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// mqOpen is mq_open(3): glibc's wrapper strips the leading slash before
// the raw syscall, and so do we. It returns the name and flags the
// syscall got, for the trace.
func mqOpen(name string, flags int, mode uint32) (fd int, sysName string, sysFlags int, err error) {
	sysName, sysFlags = name[1:], flags|unix.O_CLOEXEC
	p, err := unix.BytePtrFromString(sysName)
	if err != nil {
		return -1, sysName, sysFlags, fmt.Errorf("queue name: %w", err)
	}
	r, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), uintptr(sysFlags), uintptr(mode), 0, 0, 0)
	if errno != 0 {
		return -1, sysName, sysFlags, errno
	}
	return int(r), sysName, sysFlags, nil
}

// MQueueExists reports whether the calling thread's IPC namespace has a
// POSIX message queue of that name, by trying to open it: there is no
// syscall that lists queues, only an mqueue mount does.
func MQueueExists(name string) (bool, error) {
	if err := ValidateMQName(name); err != nil {
		return false, err
	}
	fd, _, _, err := mqOpen(name, unix.O_RDONLY, 0)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mq_open %s: %w", name, err)
	}
	unix.Close(fd)
	return true, nil
}
