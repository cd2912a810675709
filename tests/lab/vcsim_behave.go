// Where a real vCenter (or ESXi) differs from vcsim 0.24.2, the lab does what the real one
// does, around vcsim's own SOAP handler: each request is decoded with govmomi's types;
// `before` refuses what vCenter refuses (without letting vcsim see it), vcsim answers, and
// `after` updates the inventory as vCenter would have.
//
//	vApp properties (always): vCenter keeps the import spec's vAppConfig (from the OVF's
//	  ProductSection) on the new VM; clones inherit it; CloneVM_Task and ReconfigVM_Task
//	  apply vAppConfig property edits after checking them as vCenter does; power-on writes
//	  the OVF environment (ovf-env.xml) to guestinfo.ovfEnv.
//	-nfc DIR: disks are uploaded to the "ESXi host" that writes them: device URLs on a
//	  second TLS listener with its own certificate, its SHA-1 thumbprint in the lease
//	  (-nfc-thumbprint overrides it, to test a wrong one); the listener stores the bytes in
//	  DIR/<VM name>/<file>.
//	-non-drs: cluster DC0_C0 has DRS off: ImportVApp and CloneVM_Task into it need a host.
//	-esx: a standalone ESXi host (HostAgent): CloneVM_Task is NotSupported.
//	-refuse-vapp VM, -refuse-create VM: faults for one VM (its clone's vApp edits are
//	  refused; its CreateVM_Task fails with NoDiskSpace).
//	Clones go to the host their spec names (vcsim keeps the template's).
package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type behaviour struct {
	// soapLog: where photon-fleet's requests are written, one file each, for
	// tests/lab/soap-check to validate against VMware's vim25 schema.
	soapLog string
	soapSeq int
	nfc     *nfcServer
	nonDRS  bool
	esx     bool
	refuse  string
	// refuseCreate: CreateVM_Task of this VM fails as on a full datastore.
	refuseCreate string
	mu           sync.Mutex
	ovfs         map[string]string // import entity name -> its OVF descriptor
}

type fault struct {
	status int
	kind   string
	detail string
	msg    string
}

func (f *fault) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(f.status)
	var msg bytes.Buffer
	xml.EscapeText(&msg, []byte(f.msg))
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring><detail><%sFault xmlns="urn:vim25" xsi:type="%s">%s</%sFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
		msg.String(), f.kind, f.kind, f.detail, f.kind)
}

func invalidArgument(prop, msg string) *fault {
	var p bytes.Buffer
	xml.EscapeText(&p, []byte(prop))
	return &fault{500, "InvalidArgument", "<invalidProperty>" + p.String() + "</invalidProperty>", msg}
}

func (b *behaviour) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/sdk") {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if b.soapLog != "" && strings.HasPrefix(r.UserAgent(), "photon-fleet/") {
			b.mu.Lock()
			b.soapSeq++
			name := fmt.Sprintf("%05d.xml", b.soapSeq)
			b.mu.Unlock()
			os.WriteFile(filepath.Join(b.soapLog, name), body, 0o644)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		method, err := simulator.UnmarshalBody(types.TypeFunc(), body)
		if err == nil {
			if f := b.before(method); f != nil {
				f.write(w)
				return
			}
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		out := rec.Body.Bytes()
		if err == nil && rec.Code == http.StatusOK {
			out = b.after(method, out)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(out)
	})
}

func vmOf(ref types.ManagedObjectReference) *simulator.VirtualMachine {
	vm, _ := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	return vm
}

// inNonDRSCluster: is this pool (or the template's pool) in cluster DC0_C0?
func (b *behaviour) inNonDRSCluster(pool *types.ManagedObjectReference) bool {
	if !b.nonDRS || pool == nil {
		return false
	}
	p, ok := simulator.Map.Get(*pool).(*simulator.ResourcePool)
	if !ok || p.Owner.Type != "ClusterComputeResource" {
		return false
	}
	c, ok := simulator.Map.Get(p.Owner).(*simulator.ClusterComputeResource)
	return ok && c.Name == "DC0_C0"
}

func (b *behaviour) before(m *simulator.Method) *fault {
	switch req := m.Body.(type) {
	case *types.CreateImportSpec:
		b.mu.Lock()
		b.ovfs[req.Cisp.EntityName] = req.OvfDescriptor
		b.mu.Unlock()
	case *types.ImportVApp:
		if req.Host == nil && b.inNonDRSCluster(&m.This) {
			return invalidArgument("host", "A specified parameter was not correct: host (the cluster has DRS off: name the host)")
		}
	case *types.CloneVM_Task:
		if b.esx {
			return &fault{500, "NotSupported", "", "The operation is not supported on the object."}
		}
		pool := req.Spec.Location.Pool
		if tmpl := vmOf(m.This); pool == nil && tmpl != nil {
			pool = tmpl.ResourcePool
		}
		if req.Spec.Location.Host == nil && b.inNonDRSCluster(pool) {
			return invalidArgument("spec.location.host", "A specified parameter was not correct: spec.location.host (the cluster has DRS off: name the host)")
		}
		if req.Spec.Config != nil {
			if edits := vappEdits(req.Spec.Config.VAppConfig); b.refuse == req.Name && len(edits) > 0 {
				id := fmt.Sprint(edits[0].Info.Key)
				for _, p := range copyVApp(vmOf(m.This)).Property {
					if p.Key == edits[0].Info.Key {
						id = p.Id
					}
				}
				return invalidArgument("vAppConfig.property[0].info.value", "A specified parameter was not correct: vAppConfig.property[0].info.value (property "+id+")")
			}
			return checkVApp(vmOf(m.This), req.Spec.Config.VAppConfig)
		}
	case *types.ReconfigVM_Task:
		return checkVApp(vmOf(m.This), req.Spec.VAppConfig)
	case *types.CreateVM_Task:
		if b.refuseCreate != "" && req.Config.Name == b.refuseCreate {
			return &fault{500, "NoDiskSpace", "<datastore>LocalDS_0</datastore>", "There is not enough space on the file system for the selected operation."}
		}
	}
	return nil
}

var leaseRef = regexp.MustCompile(`<returnval type="HttpNfcLease">([^<]+)</returnval>`)

// after updates the inventory and returns the answer to send (rewritten where vCenter's
// differs from vcsim's).
func (b *behaviour) after(m *simulator.Method, res []byte) []byte {
	switch req := m.Body.(type) {
	case *types.ImportVApp:
		spec, ok := req.Spec.(*types.VirtualMachineImportSpec)
		if !ok {
			return res
		}
		vm := findVM(spec.ConfigSpec.Name)
		if vm == nil {
			return res
		}
		b.mu.Lock()
		descriptor := b.ovfs[vm.Name]
		b.mu.Unlock()
		if info := vappFromOVF(descriptor); info != nil {
			simulator.Map.WithLock(vm, func() { vm.Config.VAppConfig = info })
		}
		if match := leaseRef.FindSubmatch(res); match != nil && b.nfc != nil {
			b.nfc.lease(string(match[1]), vm.Name)
		}
	case *types.RetrievePropertiesEx, *types.ContinueRetrievePropertiesEx:
		if b.nfc != nil {
			return b.nfc.rewrite(res)
		}
	case *types.CloneVM_Task:
		tmpl := vmOf(m.This)
		clone := findVM(req.Name)
		if tmpl == nil || clone == nil {
			return res
		}
		info := copyVApp(tmpl)
		if req.Spec.Config != nil {
			info = applyVApp(info, req.Spec.Config.VAppConfig)
		}
		simulator.Map.WithLock(clone, func() {
			clone.Config.VAppConfig = info
			// vcsim puts every clone on its template's host; vCenter honours the spec's.
			if h := req.Spec.Location.Host; h != nil {
				clone.Runtime.Host = h
			}
		})
	case *types.ReconfigVM_Task:
		if vm := vmOf(m.This); vm != nil && req.Spec.VAppConfig != nil {
			info := applyVApp(copyVApp(vm), req.Spec.VAppConfig)
			simulator.Map.WithLock(vm, func() { vm.Config.VAppConfig = info })
		}
	case *types.PowerOnVM_Task:
		if vm := vmOf(m.This); vm != nil {
			writeOvfEnv(vm)
		}
	}
	return res
}

func findVM(name string) *simulator.VirtualMachine {
	for _, e := range simulator.Map.All("VirtualMachine") {
		if vm := e.(*simulator.VirtualMachine); vm.Name == name {
			return vm
		}
	}
	return nil
}

// ---------------------------------------------------------------- vApp properties

// vappFromOVF is what vCenter makes of an OVF's ProductSection: properties keyed 0..n,
// the product, and the OVF environment transports of the VirtualHardwareSection.
func vappFromOVF(descriptor string) *types.VmConfigInfo {
	if descriptor == "" {
		return nil
	}
	env, err := ovf.Unmarshal(strings.NewReader(descriptor))
	if err != nil || env.VirtualSystem == nil {
		return nil
	}
	vs := env.VirtualSystem
	info := &types.VmConfigInfo{}
	key := int32(0)
	for i, p := range vs.Product {
		info.Product = append(info.Product, types.VAppProductInfo{
			Key: int32(i), Name: p.Product, Vendor: p.Vendor, Version: p.Version, FullVersion: p.FullVersion,
		})
		for _, prop := range p.Property {
			user := prop.UserConfigurable != nil && *prop.UserConfigurable
			str := func(s *string) string {
				if s == nil {
					return ""
				}
				return *s
			}
			info.Property = append(info.Property, types.VAppPropertyInfo{
				Key: key, Id: prop.Key, Type: prop.Type, Label: str(prop.Label),
				Description: str(prop.Description), DefaultValue: str(prop.Default),
				UserConfigurable: &user,
			})
			key++
		}
	}
	for _, h := range vs.VirtualHardware {
		if h.Transport != nil {
			info.OvfEnvironmentTransport = append(info.OvfEnvironmentTransport, strings.Fields(*h.Transport)...)
		}
	}
	if len(info.Property) == 0 && len(info.Product) == 0 {
		return nil
	}
	return info
}

func copyVApp(vm *simulator.VirtualMachine) *types.VmConfigInfo {
	src, ok := vm.Config.VAppConfig.(*types.VmConfigInfo)
	if !ok || src == nil {
		return nil
	}
	var out types.VmConfigInfo
	text, _ := json.Marshal(src)
	json.Unmarshal(text, &out)
	return &out
}

func vappEdits(spec types.BaseVmConfigSpec) []types.VAppPropertySpec {
	if spec == nil {
		return nil
	}
	if s := spec.GetVmConfigSpec(); s != nil {
		return s.Property
	}
	return nil
}

// checkVApp refuses property edits vCenter refuses: an edit or removal of a key the VM
// does not have, an add of a key it has, a value on a property that is not user
// configurable, an unknown operation. The fault names the property.
func checkVApp(vm *simulator.VirtualMachine, spec types.BaseVmConfigSpec) *fault {
	edits := vappEdits(spec)
	if len(edits) == 0 {
		return nil
	}
	have := map[int32]types.VAppPropertyInfo{}
	if info := copyVApp(vm); vm != nil && info != nil {
		for _, p := range info.Property {
			have[p.Key] = p
		}
	}
	for i, e := range edits {
		where := fmt.Sprintf("vAppConfig.property[%d]", i)
		switch e.Operation {
		case types.ArrayUpdateOperationEdit:
			if e.Info == nil {
				return invalidArgument(where+".info", "A specified parameter was not correct: "+where+".info")
			}
			p, ok := have[e.Info.Key]
			if !ok {
				return invalidArgument(where+".info.key", fmt.Sprintf("A specified parameter was not correct: %s.info.key (no property with key %d)", where, e.Info.Key))
			}
			if e.Info.Value != "" && (p.UserConfigurable == nil || !*p.UserConfigurable) {
				return invalidArgument(where+".info.value", fmt.Sprintf("A specified parameter was not correct: %s.info.value (property %s is not user configurable)", where, p.Id))
			}
		case types.ArrayUpdateOperationAdd:
			if e.Info == nil || e.Info.Id == "" {
				return invalidArgument(where+".info", "A specified parameter was not correct: "+where+".info")
			}
			if _, ok := have[e.Info.Key]; ok {
				return invalidArgument(where+".info.key", fmt.Sprintf("A specified parameter was not correct: %s.info.key (key %d exists)", where, e.Info.Key))
			}
		case types.ArrayUpdateOperationRemove:
			key, ok := e.RemoveKey.(int32)
			if _, exists := have[key]; !ok || !exists {
				return invalidArgument(where+".removeKey", "A specified parameter was not correct: "+where+".removeKey")
			}
		default:
			return invalidArgument(where+".operation", "A specified parameter was not correct: "+where+".operation")
		}
	}
	return nil
}

func applyVApp(info *types.VmConfigInfo, spec types.BaseVmConfigSpec) *types.VmConfigInfo {
	edits := vappEdits(spec)
	if info == nil {
		if len(edits) == 0 {
			return nil
		}
		info = &types.VmConfigInfo{}
	}
	for _, e := range edits {
		switch e.Operation {
		case types.ArrayUpdateOperationEdit:
			for i := range info.Property {
				if info.Property[i].Key == e.Info.Key {
					info.Property[i].Value = e.Info.Value
				}
			}
		case types.ArrayUpdateOperationAdd:
			info.Property = append(info.Property, *e.Info)
		case types.ArrayUpdateOperationRemove:
			key, _ := e.RemoveKey.(int32)
			kept := info.Property[:0]
			for _, p := range info.Property {
				if p.Key != key {
					kept = append(kept, p)
				}
			}
			info.Property = kept
		}
	}
	return info
}

// writeOvfEnv renders the OVF environment vCenter hands the guest (what
// `vmtoolsd --cmd "info-get guestinfo.ovfEnv"` prints) into the VM's extraConfig.
func writeOvfEnv(vm *simulator.VirtualMachine) {
	info := copyVApp(vm)
	if info == nil {
		return
	}
	esc := func(s string) string {
		var b bytes.Buffer
		xml.EscapeText(&b, []byte(s))
		return strings.ReplaceAll(b.String(), "&#34;", "&quot;")
	}
	var doc strings.Builder
	fmt.Fprintf(&doc, `<?xml version="1.0" encoding="UTF-8"?>
<Environment
     xmlns="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:ve="http://www.vmware.com/schema/ovfenv"
     oe:id=""
     ve:vCenterId="%s">
   <PlatformSection>
      <Kind>VMware ESXi</Kind>
      <Version>8.0.2</Version>
      <Vendor>VMware, Inc.</Vendor>
      <Locale>en</Locale>
   </PlatformSection>
   <PropertySection>
`, vm.Self.Value)
	for _, p := range info.Property {
		value := p.Value
		if value == "" {
			value = p.DefaultValue
		}
		fmt.Fprintf(&doc, "         <Property oe:key=\"%s\" oe:value=\"%s\"/>\n", esc(p.Id), esc(value))
	}
	doc.WriteString("   </PropertySection>\n   <ve:EthernetAdapterSection>\n")
	for _, d := range vm.Config.Hardware.Device {
		if nic, ok := d.(types.BaseVirtualEthernetCard); ok {
			card := nic.GetVirtualEthernetCard()
			network := ""
			if b, ok := card.Backing.(*types.VirtualEthernetCardNetworkBackingInfo); ok {
				network = b.DeviceName
			}
			unit := int32(0)
			if card.UnitNumber != nil {
				unit = *card.UnitNumber
			}
			fmt.Fprintf(&doc, "      <ve:Adapter ve:mac=\"%s\" ve:network=\"%s\" ve:unitNumber=\"%d\"/>\n", card.MacAddress, esc(network), unit)
		}
	}
	doc.WriteString("   </ve:EthernetAdapterSection>\n</Environment>\n")
	simulator.Map.WithLock(vm, func() {
		kept := vm.Config.ExtraConfig[:0]
		for _, o := range vm.Config.ExtraConfig {
			if o.GetOptionValue().Key != "guestinfo.ovfEnv" {
				kept = append(kept, o)
			}
		}
		vm.Config.ExtraConfig = append(kept, &types.OptionValue{Key: "guestinfo.ovfEnv", Value: doc.String()})
	})
}

// ---------------------------------------------------------------- the "host" NFC listener

type nfcServer struct {
	url        string
	thumbprint string
	dir        string
	mu         sync.Mutex
	names      map[string]string // lease -> VM name
}

func startNFC(dir, thumbprint string) (*nfcServer, error) {
	cert, err := selfSigned()
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(cert.Certificate[0])
	var parts []string
	for _, b := range sum {
		parts = append(parts, fmt.Sprintf("%02X", b))
	}
	s := &nfcServer{dir: dir, thumbprint: strings.Join(parts, ":"), names: map[string]string{}}
	if thumbprint != "" {
		s.thumbprint = thumbprint
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.url = "https://" + ln.Addr().String()
	srv := &http.Server{Handler: s, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go srv.ServeTLS(ln, "", "")
	return s, nil
}

func (s *nfcServer) lease(lease, vm string) {
	s.mu.Lock()
	s.names[lease] = vm
	s.mu.Unlock()
}

var deviceURL = regexp.MustCompile(`<url>https://\*/nfc/([^<]+)</url><sslThumbprint></sslThumbprint>`)

// rewrite gives a lease's device URLs as vCenter does: on the host that writes the disk,
// with that host's certificate thumbprint.
func (s *nfcServer) rewrite(res []byte) []byte {
	return deviceURL.ReplaceAll(res, []byte("<url>"+s.url+"/nfc/$1</url><sslThumbprint>"+s.thumbprint+"</sslThumbprint>"))
}

func (s *nfcServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/plain/") {
		// A plain upload with no lease (scripts/bench-deploy: what the link carries),
		// stored as lease uploads are.
		s.store(w, r, "plain", filepath.Base(r.URL.Path))
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/nfc/"), "/", 2)
	if len(parts) != 2 || (r.Method != http.MethodPut && r.Method != http.MethodPost) {
		http.Error(w, "unknown NFC URL", http.StatusNotFound)
		return
	}
	s.mu.Lock()
	vm, ok := s.names[parts[0]]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "unknown lease", http.StatusNotFound)
		return
	}
	s.store(w, r, vm, filepath.Base(parts[1]))
}

// store writes the request body to DIR/<folder>/<name>.
func (s *nfcServer) store(w http.ResponseWriter, r *http.Request, folder, name string) {
	dir := filepath.Join(s.dir, folder)
	os.MkdirAll(dir, 0o755)
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}
