package extensions

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"extcron/fault"
)

// Size caps of a bundle's files, enforced while reading.
const (
	MaxManifestBytes = 1 << 20  // 1 MiB
	MaxModuleBytes   = 64 << 20 // 64 MiB
	// maxZipBytes bounds the archive itself: a module, a manifest and some
	// room for sources or a README the registry ignores.
	maxZipBytes = MaxModuleBytes + MaxManifestBytes + 16<<20
)

// ManifestFile is the manifest's file name inside a bundle.
const ManifestFile = "manifest.json"

// Bundle is a validated manifest with its module bytes, ready to publish.
type Bundle struct {
	Manifest Manifest
	// ManifestJSON is manifest.json as published (stored as is, so unknown
	// fields survive and a backfill re-reads exactly what was published).
	ManifestJSON []byte
	Module       []byte
	// ContentHash is "sha256:" + hex(sha256(Module)).
	ContentHash string
}

// ContentHash returns the content hash of module bytes.
func ContentHash(module []byte) string {
	sum := sha256.Sum256(module)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NewBundle validates a manifest and pairs it with its module.
func NewBundle(manifestJSON, module []byte) (*Bundle, error) {
	if len(manifestJSON) > MaxManifestBytes {
		return nil, bundleErr("%s is larger than %d bytes", ManifestFile, MaxManifestBytes)
	}
	if len(module) > MaxModuleBytes {
		return nil, bundleErr("the module is larger than %d bytes", MaxModuleBytes)
	}
	m, err := ParseManifest(manifestJSON)
	if err != nil {
		return nil, err
	}
	if len(module) == 0 {
		f := fault.Fields{}
		f.Add("module", fmt.Sprintf("module file %q is empty", m.Module))
		return nil, f.Err()
	}
	return &Bundle{
		Manifest:     m,
		ManifestJSON: bytes.Clone(manifestJSON),
		Module:       module,
		ContentHash:  ContentHash(module),
	}, nil
}

// ReadBundle reads a bundle from a directory or a .zip file.
func ReadBundle(p string) (*Bundle, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	if info.IsDir() {
		return ReadBundleDir(p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	defer f.Close()
	return ReadBundleZip(f, info.Size())
}

// ReadBundleDir reads manifest.json and the module it names from dir.
func ReadBundleDir(dir string) (*Bundle, error) {
	manifestJSON, err := readFileLimited(filepath.Join(dir, ManifestFile), MaxManifestBytes)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(manifestJSON)
	if err != nil {
		return nil, err
	}
	module, err := readFileLimited(filepath.Join(dir, m.Module), MaxModuleBytes)
	if err != nil {
		return nil, err
	}
	return NewBundle(manifestJSON, module)
}

func readFileLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, bundleErr("%s is missing from the bundle", filepath.Base(name))
	}
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	defer f.Close()
	return readLimited(f, limit, filepath.Base(name))
}

func readLimited(r io.Reader, limit int64, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read bundle file %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, bundleErr("%s is larger than %d bytes", name, limit)
	}
	return b, nil
}

// ReadBundleZip reads a zipped bundle. manifest.json must be at the root of
// the archive or inside its single top-level folder (what zipping a
// directory produces). Entries with absolute paths or ".." are refused, and
// files are size-capped while they are decompressed.
func ReadBundleZip(r io.ReaderAt, size int64) (*Bundle, error) {
	if size > maxZipBytes {
		return nil, bundleErr("the archive is larger than %d bytes", maxZipBytes)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, bundleErr("not a valid zip archive")
	}
	files := make(map[string]*zip.File, len(zr.File))
	for _, zf := range zr.File {
		name := zf.Name
		if strings.Contains(name, `\`) || strings.HasPrefix(name, "/") || filepath.IsAbs(name) ||
			hasDotDot(name) || strings.ContainsRune(name, 0) {
			return nil, bundleErr("archive entry %q has an unsafe path", clip(name))
		}
		if zf.FileInfo().IsDir() {
			continue
		}
		files[path.Clean(name)] = zf
	}
	root := ""
	if _, ok := files[ManifestFile]; !ok {
		root = singleTopDir(files)
		if _, ok := files[path.Join(root, ManifestFile)]; root == "" || !ok {
			return nil, bundleErr("%s is missing from the archive root", ManifestFile)
		}
	}
	manifestJSON, err := readZipFile(files[path.Join(root, ManifestFile)], MaxManifestBytes)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(manifestJSON)
	if err != nil {
		return nil, err
	}
	zf, ok := files[path.Join(root, m.Module)]
	if !ok {
		f := fault.Fields{}
		f.Add("module", fmt.Sprintf("module file %q is not in the bundle", m.Module))
		return nil, f.Err()
	}
	module, err := readZipFile(zf, MaxModuleBytes)
	if err != nil {
		return nil, err
	}
	return NewBundle(manifestJSON, module)
}

func readZipFile(zf *zip.File, limit int64) ([]byte, error) {
	// The declared size is only a hint (it can lie); readLimited enforces
	// the cap on the bytes actually decompressed.
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, bundleErr("%s is larger than %d bytes", zf.Name, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, bundleErr("cannot read %s from the archive", clip(zf.Name))
	}
	defer rc.Close()
	b, err := readLimited(rc, limit, zf.Name)
	if err != nil {
		if _, ok := fault.As(err); ok {
			return nil, err
		}
		return nil, bundleErr("cannot read %s from the archive", clip(zf.Name))
	}
	return b, nil
}

func hasDotDot(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// singleTopDir returns the one folder every file lives in, or "".
func singleTopDir(files map[string]*zip.File) string {
	top := ""
	for name := range files {
		i := strings.IndexByte(name, '/')
		if i <= 0 {
			return ""
		}
		if top != "" && name[:i] != top {
			return ""
		}
		top = name[:i]
	}
	return top
}

func bundleErr(format string, args ...any) error {
	f := fault.Fields{}
	f.Add("bundle", fmt.Sprintf(format, args...))
	return f.Err()
}
