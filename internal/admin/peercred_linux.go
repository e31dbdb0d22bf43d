package admin

import (
	"net"
	"syscall"
)

// peerCred returns the uid and pid of the process that connected to a unix
// socket, as the kernel recorded them at connect(2) (SO_PEERCRED, unix(7)):
// a peer cannot forge them.
func peerCred(c *net.UnixConn) (uid, pid int, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, -1, err
	}
	var cred *syscall.Ucred
	var serr error
	if err := rc.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return -1, -1, err
	}
	if serr != nil {
		return -1, -1, serr
	}
	return int(cred.Uid), int(cred.Pid), nil
}
