// vcsim for the photon-fleet lab: govmomi's vCenter simulator (Debian's
// golang-github-vmware-govmomi-dev ships the library but no vcsim main), with its default
// VPX inventory (DC0, cluster DC0_C0 with hosts DC0_C0_H0..H2, host DC0_H0, datastore
// LocalDS_0, "VM Network"), served over HTTPS on 127.0.0.1. With VCSIM_USER and
// VCSIM_PASSWORD set, only that login is accepted (otherwise any non-empty one). Prints
// the URL, then serves until SIGTERM/SIGINT.
//
// -lab FILE (JSON) ties the inventory to the rest of the lab, where real vCenter differs
// from vcsim 0.24.2:
//
//	"hosts": {"DC0_C0_H0": {"address": "127.5.0.1", "lab": DIR, "name": "h0",
//	          "ssh": "stopped"}, ...}
//	    the host's management address (vmk0) is its ESXi stand-in's (tests/lab/esxi-lab),
//	    and a HostServiceSystem (which vcsim lacks) offers TSM-SSH: StartService and
//	    StopService start and stop the stand-in's real sshd.
//	"guests": {"photon-docker-01": "127.5.1.1", ...}
//	    once such a VM is powered on, VMware Tools "report" that address as its guest IP
//	    (the guest stand-in's).
//	"esxi_lab": the path of tests/lab/esxi-lab.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type labHost struct {
	Address string `json:"address"`
	Lab     string `json:"lab"`
	Name    string `json:"name"`
	SSH     string `json:"ssh"`
}

type labConfig struct {
	Hosts   map[string]labHost `json:"hosts"`
	Guests  map[string]string  `json:"guests"`
	EsxiLab string             `json:"esxi_lab"`
}

// serviceSystem is a host's HostServiceSystem with the one service the lab needs.
type serviceSystem struct {
	mo.HostServiceSystem
	host labHost
	lab  string
}

func (s *serviceSystem) set(key string, running bool) soap.HasFault {
	for i := range s.ServiceInfo.Service {
		svc := &s.ServiceInfo.Service[i]
		if svc.Key != key {
			continue
		}
		what := "stop"
		if running {
			what = "start"
		}
		if out, err := exec.Command(s.lab, what, s.host.Lab, s.host.Name).CombinedOutput(); err != nil {
			return &methods.StartServiceBody{Fault_: simulator.Fault(string(out), &types.HostConfigFault{})}
		}
		svc.Running = running
		return nil
	}
	return &methods.StartServiceBody{Fault_: simulator.Fault("", &types.NotFound{})}
}

func (s *serviceSystem) StartService(req *types.StartService) soap.HasFault {
	if f := s.set(req.Id, true); f != nil {
		return f
	}
	return &methods.StartServiceBody{Res: new(types.StartServiceResponse)}
}

func (s *serviceSystem) StopService(req *types.StopService) soap.HasFault {
	if f := s.set(req.Id, false); f != nil {
		return &methods.StopServiceBody{Fault_: f.Fault()}
	}
	return &methods.StopServiceBody{Res: new(types.StopServiceResponse)}
}

// hosts gives each configured host its stand-in's address and a HostServiceSystem.
func hosts(cfg *labConfig) {
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		lh, ok := cfg.Hosts[h.Name]
		if !ok {
			continue
		}
		h.Config.Network.Vnic[0].Spec.Ip.IpAddress = lh.Address
		ss := &serviceSystem{host: lh, lab: cfg.EsxiLab}
		ss.Self = types.ManagedObjectReference{Type: "HostServiceSystem"}
		ss.ServiceInfo = types.HostServiceInfo{Service: []types.HostService{
			{Key: "TSM-SSH", Label: "SSH", Policy: "off", Running: lh.SSH != "stopped"},
		}}
		ref := simulator.Map.Put(ss).Reference()
		h.ConfigManager.ServiceSystem = &ref
		if lh.SSH == "stopped" {
			ss.set("TSM-SSH", false)
		}
	}
}

// guestIPs reports each configured VM's address once it is powered on, as VMware Tools
// would after the guest booted.
func guestIPs(cfg *labConfig) {
	for range time.Tick(200 * time.Millisecond) {
		for _, e := range simulator.Map.All("VirtualMachine") {
			vm := e.(*simulator.VirtualMachine)
			ip, ok := cfg.Guests[vm.Name]
			if !ok {
				continue
			}
			simulator.Map.WithLock(vm, func() {
				if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn && vm.Guest.IpAddress != ip {
					simulator.Map.Update(vm, []types.PropertyChange{
						{Name: "guest.ipAddress", Val: ip},
						{Name: "summary.guest.ipAddress", Val: ip},
					})
				}
			})
		}
	}
}

func main() {
	listen := flag.String("l", "127.0.0.1:0", "address to listen on")
	labFile := flag.String("lab", "", "JSON tying hosts and guests to the lab's stand-ins")
	nfcDir := flag.String("nfc", "", "upload disks to a host listener with its own certificate, stored here")
	nfcThumb := flag.String("nfc-thumbprint", "", "the thumbprint the lease gives for that listener (default: its own)")
	nonDRS := flag.Bool("non-drs", false, "cluster DC0_C0 has DRS off: imports and clones need a host")
	esxModel := flag.Bool("esx", false, "a standalone ESXi host instead of a vCenter")
	refuse := flag.String("refuse-vapp", "", "refuse the vApp property edits of the clone with this name")
	refuseCreate := flag.String("refuse-create", "", "CreateVM_Task of the VM with this name fails (NoDiskSpace)")
	weak := flag.Bool("weak-cert", false, "serve a 1024-bit RSA certificate, as old appliances (and vcsim's default) do")
	soapLog := flag.String("soap-log", "", "write each request photon-fleet sends to a file in this folder")
	folders := flag.Int("folder", 0, "put this many datacenters into a folder (F0/DC0, ...)")
	flag.Parse()
	model := simulator.VPX()
	if *esxModel {
		model = simulator.ESX()
	}
	model.Folder = *folders
	if err := model.Create(); err != nil {
		fmt.Fprintln(os.Stderr, "vcsim:", err)
		os.Exit(1)
	}
	if *labFile != "" {
		var cfg labConfig
		text, err := os.ReadFile(*labFile)
		if err == nil {
			err = json.Unmarshal(text, &cfg)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "vcsim: -lab:", err)
			os.Exit(1)
		}
		hosts(&cfg)
		go guestIPs(&cfg)
	}
	model.Service.Listen = &url.URL{Scheme: "https", Host: *listen}
	if u, p := os.Getenv("VCSIM_USER"), os.Getenv("VCSIM_PASSWORD"); u != "" && p != "" {
		model.Service.Listen.User = url.UserPassword(u, p)
	}
	bits := 2048
	if *weak {
		bits = 1024
	}
	cert, err := selfSignedBits(bits)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vcsim:", err)
		os.Exit(1)
	}
	// A fresh 2048-bit self-signed certificate, as a new vCenter has (httptest's built-in
	// one is 1024-bit, which modern TLS stacks rightly refuse).
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	b := &behaviour{nonDRS: *nonDRS, esx: *esxModel, refuse: *refuse, refuseCreate: *refuseCreate, soapLog: *soapLog, ovfs: map[string]string{}}
	if *nonDRS {
		for _, e := range simulator.Map.All("ClusterComputeResource") {
			c := e.(*simulator.ClusterComputeResource)
			if c.Name == "DC0_C0" {
				c.ConfigurationEx.(*types.ClusterConfigInfoEx).DrsConfig.Enabled = types.NewBool(false)
			}
		}
	}
	if *nfcDir != "" {
		nfc, err := startNFC(*nfcDir, *nfcThumb)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vcsim: -nfc:", err)
			os.Exit(1)
		}
		b.nfc = nfc
		fmt.Fprintf(os.Stderr, "vcsim: host NFC listener %s (thumbprint %s)\n", nfc.url, nfc.thumbprint)
	}
	s := model.Service.NewServer()
	s.Config.Handler = b.wrap(s.Config.Handler)
	fmt.Printf("https://%s/sdk\n", s.URL.Host)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	s.Close()
	model.Remove()
}

func selfSigned() (tls.Certificate, error) {
	return selfSignedBits(2048)
}

func selfSignedBits(bits int) (tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, bits)
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
