// vcsim for the photon-fleet lab: govmomi's vCenter simulator (Debian's
// golang-github-vmware-govmomi-dev ships the library but no vcsim main), with its default
// VPX inventory (DC0, cluster DC0_C0, host DC0_H0, datastore LocalDS_0, "VM Network"),
// served over HTTPS on 127.0.0.1. With VCSIM_USER and VCSIM_PASSWORD set, only that
// login is accepted (otherwise any non-empty one). Prints the URL, then serves until
// SIGTERM/SIGINT.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	model := simulator.VPX()
	if err := model.Create(); err != nil {
		fmt.Fprintln(os.Stderr, "vcsim:", err)
		os.Exit(1)
	}
	model.Service.Listen = &url.URL{Scheme: "https", Host: *listen}
	if u, p := os.Getenv("VCSIM_USER"), os.Getenv("VCSIM_PASSWORD"); u != "" && p != "" {
		model.Service.Listen.User = url.UserPassword(u, p)
	}
	cert, err := selfSigned()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vcsim:", err)
		os.Exit(1)
	}
	// A fresh 2048-bit self-signed certificate, as a new vCenter has (httptest's built-in
	// one is 1024-bit, which modern TLS stacks rightly refuse).
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s := model.Service.NewServer()
	fmt.Printf("https://%s/sdk\n", s.URL.Host)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	s.Close()
	model.Remove()
}

func selfSigned() (tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "vcsim.photon-fleet.lab"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
