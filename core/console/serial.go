package console

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lavalab/lavalab/sdk"
	"go.bug.st/serial"
)

// DefaultBaud is the baud rate of a serial port whose step gives none
// (LAVA's baud_rate default).
const DefaultBaud = 115200

// SerialMode maps a step's serial settings to go.bug.st/serial's mode:
// parity n, e or o (also none, even, odd; empty means n), data bits 5 to 8
// (0 means 8), stop bits 1 or 2 (0 means 1), baud > 0 (0 means 115200).
func SerialMode(p sdk.SerialPort) (*serial.Mode, error) {
	m := &serial.Mode{BaudRate: p.Baud, DataBits: p.DataBits}
	if m.BaudRate == 0 {
		m.BaudRate = DefaultBaud
	}
	if m.BaudRate < 0 {
		return nil, fmt.Errorf("baud rate %d is negative", p.Baud)
	}
	if m.DataBits == 0 {
		m.DataBits = 8
	}
	if m.DataBits < 5 || m.DataBits > 8 {
		return nil, fmt.Errorf("data bits %d is not 5, 6, 7 or 8", p.DataBits)
	}
	switch strings.ToLower(p.Parity) {
	case "", "n", "none":
		m.Parity = serial.NoParity
	case "e", "even":
		m.Parity = serial.EvenParity
	case "o", "odd":
		m.Parity = serial.OddParity
	default:
		return nil, fmt.Errorf("parity %q is not n, e or o", p.Parity)
	}
	switch p.StopBits {
	case 0, 1:
		m.StopBits = serial.OneStopBit
	case 2:
		m.StopBits = serial.TwoStopBits
	default:
		return nil, fmt.Errorf("stop bits %d is not 1 or 2", p.StopBits)
	}
	return m, nil
}

// OpenSerial opens a local serial port (or anything go.bug.st/serial can
// open as one, such as a pty) in raw mode with no flow control.
func OpenSerial(p sdk.SerialPort) (Console, error) {
	name := "serial " + p.Device
	if p.Device == "" {
		return nil, consoleErr("serial", errors.New("no device given"))
	}
	mode, err := SerialMode(p)
	if err != nil {
		return nil, consoleErr(name, err)
	}
	port, err := serial.Open(p.Device, mode)
	if err != nil {
		return nil, consoleErr(name, err)
	}
	return &serialConsole{name: name, port: port}, nil
}

type serialConsole struct {
	name string
	port serial.Port
}

func (s *serialConsole) Name() string { return s.name }

func (s *serialConsole) Read(p []byte) (int, error) {
	n, err := s.port.Read(p)
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortClosed {
		return n, io.EOF
	}
	return n, ioErr(s.name, err)
}

func (s *serialConsole) Write(p []byte) (int, error) {
	n, err := s.port.Write(p)
	return n, consoleErr(s.name, err)
}

func (s *serialConsole) Close() error { return consoleErr(s.name, s.port.Close()) }
