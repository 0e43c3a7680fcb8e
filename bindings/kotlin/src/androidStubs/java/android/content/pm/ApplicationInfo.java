package android.content.pm;

public class ApplicationInfo {
    public CharSequence loadLabel(PackageManager pm) { return null; }
}
