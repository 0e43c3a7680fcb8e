package android.app;

public class Activity {
    public boolean isChangingConfigurations() { return false; }
}
